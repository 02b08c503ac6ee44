"""Checkpoint files that are either the old version or the complete new one, never half."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_fabric.utilities.types import _PATH

from dcgan_lab.errors import UserError
from dcgan_lab.runs.atomic import atomic_write


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through ``atomic_write``; a failed write is one UserError line.

    torch's zip writer reports a full disk as a RuntimeError ("[enforce fail at
    inline_container.cc] unexpected pos", the OSError as its context), not an OSError, so
    both are caught; the temporary file is gone either way (``atomic_write``).
    """
    path = Path(path)
    try:
        atomic_write(path, lambda f: torch.save(obj, f))
    except (OSError, RuntimeError) as err:
        os_error = err if isinstance(err, OSError) else underlying_os_error(err)
        if os_error is None and "inline_container" not in str(err):
            raise  # not a failed write
        kept = "the previous checkpoint is intact" if path.exists() else "nothing was written"
        reason = (os_error.strerror if os_error else None) or write_failure(path, err)
        raise UserError(
            f"cannot write checkpoint {path}: {reason}; {kept} "
            "(free disk space or choose a writable hydra.run.dir)"
        ) from err


def underlying_os_error(err: BaseException) -> OSError | None:
    seen = err.__cause__ or err.__context__
    while seen is not None and not isinstance(seen, OSError):
        seen = seen.__cause__ or seen.__context__
    return seen


def write_failure(path: Path, err: BaseException) -> str:
    """Why a write failed, in words: a full disk when the filesystem says so."""
    try:
        if shutil.disk_usage(path.parent).free < 1 << 20:
            return "No space left on device"
    except OSError:
        pass
    return str(err).splitlines()[0]


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
