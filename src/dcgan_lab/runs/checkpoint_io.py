"""Checkpoint files that are either the old version or the complete new one, never half."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_fabric.utilities.types import _PATH

from dcgan_lab.errors import UserError
from dcgan_lab.runs.atomic import atomic_write


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through ``atomic_write``; a failed write is one UserError line."""
    path = Path(path)
    try:
        atomic_write(path, lambda f: torch.save(obj, f))
    except OSError as err:
        kept = "the previous checkpoint is intact" if path.exists() else "nothing was written"
        reason = err.strerror or str(err)
        raise UserError(
            f"cannot write checkpoint {path}: {reason}; {kept} "
            "(free disk space or choose a writable hydra.run.dir)"
        ) from err


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO with atomic local writes (see ``atomic_torch_save``).

    Lightning's own writer goes through a temporary file in the system temp dir and a
    cross-filesystem move, which is a plain copy: a kill during it truncates the target.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)  # remote storage
            return
        atomic_torch_save(checkpoint, path)
