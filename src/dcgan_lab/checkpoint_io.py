"""Checkpoint files that are either the old version or the complete new one, never half."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_fabric.utilities.types import _PATH

from dcgan_lab.errors import UserError


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then one ``os.replace``.

    A crash, kill or full disk during the write leaves the previous file untouched and no
    temporary file behind (the rename is atomic because both names are on one filesystem).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):  # e.g. the directory itself cannot be written
            tmp.unlink(missing_ok=True)
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
