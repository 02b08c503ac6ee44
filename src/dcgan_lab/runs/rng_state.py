"""Random number generator states in checkpoints, so a resumed run draws what the original would."""

from __future__ import annotations

import random
from typing import Any, cast

import numpy as np
import pytorch_lightning as pl
import torch


class RNGState(pl.Callback):
    """Saves the Python, NumPy, torch CPU (and CUDA) generators with each checkpoint.

    ``state_dict`` runs when a checkpoint is written, so the saved state is the one the next
    batch of the uninterrupted run starts from (the next epoch's shuffle, the next noise).
    Lightning restores callbacks before the sanity check, which it runs in an isolated RNG
    scope, so the restored state reaches the first resumed batch unchanged.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, gauss = cast(tuple[Any, ...], np.random.get_state())
        state: dict[str, Any] = {
            "python": random.getstate(),
            # Plain tensors and numbers: checkpoints stay loadable with weights_only=True.
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        kind, keys, pos, has_gauss, cached_gaussian = state_dict["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached_gaussian))
        torch.set_rng_state(state_dict["torch"])
        cuda = state_dict.get("cuda")
        if cuda is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
