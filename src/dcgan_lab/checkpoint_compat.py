"""Reading checkpoints given by the user: one line for a missing, corrupt or foreign file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dcgan_lab.errors import UserError

# Hyperparameters that change tensor shapes or names (dropout and the optimizers do not).
SHAPE_KEYS = (
    "latent_dim",
    "width",
    "g_width",
    "d_width",
    "channels",
    "image_size",
    "spectral_norm",
)
# State a checkpoint may lack (written before the feature existed, or with it off).
OPTIONAL_PREFIXES = ("fid_best", "use_ema", "generator_ema.")


def optional(name: str) -> bool:
    return name.startswith(OPTIONAL_PREFIXES)


def fill_optional_state(
    saved_state: dict[str, torch.Tensor], state: Mapping[str, torch.Tensor]
) -> None:
    """Make ``saved_state`` loadable into a module whose optional parts differ.

    No best FID yet: infinity. No EMA saved: the EMA starts as the saved generator. EMA
    saved but off now: dropped.
    """
    for name in [n for n in saved_state if n.startswith("generator_ema.") and n not in state]:
        del saved_state[name]
    for name, tensor in state.items():
        if name in saved_state or not optional(name):
            continue
        if name.startswith("generator_ema.module."):
            saved_state[name] = saved_state[name.replace("generator_ema.module.", "generator.")]
        elif name == "fid_best":
            saved_state[name] = torch.tensor(float("inf"))
        else:  # use_ema, generator_ema.n_averaged: as a fresh module has them
            saved_state[name] = tensor.clone()


def require_same_architecture(
    saved_hparams: Mapping[str, Any],
    saved_state: Mapping[str, torch.Tensor],
    hparams: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
) -> None:
    """UserError naming the differing settings and the first tensor whose shape differs."""
    mismatched = [
        name
        for name, tensor in state.items()
        if name in saved_state and saved_state[name].shape != tensor.shape
    ]
    missing = [name for name in state if name not in saved_state and not optional(name)]
    if not mismatched and not missing:
        return
    settings = ", ".join(
        f"model.{key}={saved_hparams.get(key)} (now {hparams.get(key)})"
        for key in SHAPE_KEYS
        if saved_hparams.get(key) != hparams.get(key)
    )
    if mismatched:
        name = mismatched[0]
        detail = f"{name} is {list(saved_state[name].shape)}, not {list(state[name].shape)}"
    else:
        detail = f"it has no {missing[0]}"
    raise UserError(
        f"the checkpoint is from a different architecture ({settings or 'settings unknown'}): "
        f"{detail}; resume with the checkpoint's model settings"
    )


def read_checkpoint(ckpt_path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents (weights only, on the CPU); UserError if absent or unreadable."""
    path = Path(ckpt_path)
    if not path.is_file():
        raise UserError(
            f"checkpoint {path} not found; pass ckpt_path=<run dir>/checkpoints/last.ckpt"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file can fail anywhere in the unpickler
        raise UserError(f"cannot load checkpoint {path}: {error_summary(err)}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"cannot load checkpoint {path}: no state_dict in it")
    return checkpoint


def error_summary(err: BaseException) -> str:
    """The first two non-empty lines of an error, e.g. the tensor a state dict lacks."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(err).__name__


def find_checkpoints(path: Path, which: str = "best", single: bool = False) -> list[Path]:
    """A .ckpt file as given; in a run dir (or a folder of them) one checkpoint per run:
    ``which`` (best: the lowest FID) when present, else last.ckpt."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"ckpt_path={path} does not exist; pass a .ckpt file or a run directory")
    if single and not (path / "checkpoints").is_dir():
        raise UserError(f"no checkpoints/ in {path}; pass a run directory or a .ckpt file")
    found = []
    for ckpt_dir in sorted(path.glob("**/checkpoints")):
        preferred = ckpt_dir / f"{which}.ckpt"
        chosen = preferred if preferred.is_file() else ckpt_dir / "last.ckpt"
        if chosen.is_file():
            found.append(chosen)
    if not found:
        raise UserError(f"no checkpoints/last.ckpt under {path}; is it a run directory?")
    return found
