"""One training process per run folder: an exclusive lock on ``<run>/.lock`` held while
it trains, so a second ``ckpt_path=...`` resume of the same run is refused instead of
writing checkpoints and metrics.csv rows alongside the first."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from dcgan_lab.errors import UserError

_held: dict[Path, IO[str]] = {}  # run folder -> its open, locked file (this process)


def lock_file(run_root: Path) -> Path:
    return run_root / ".lock"


def acquire(run_root: Path) -> None:
    """Lock ``run_root`` for this process until it exits (or ``release``); UserError if
    another process holds it. The lock dies with its process, so a killed run frees it."""
    run_root = run_root.absolute()
    if run_root in _held:
        return
    run_root.mkdir(parents=True, exist_ok=True)
    # Empty and never rewritten: the lock is the flock, so taking it changes no file.
    handle = open(lock_file(run_root), "a")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(
            f"the run in {run_root} is being trained by another process; wait for it to end "
            "or stop it before resuming"
        ) from None
    _held[run_root] = handle


def release(run_root: Path) -> None:
    handle = _held.pop(run_root.absolute(), None)
    if handle is not None:
        handle.close()  # closing drops the lock


def is_locked(run_root: Path) -> bool:
    """True while some process trains in ``run_root``."""
    path = lock_file(run_root)
    if not path.is_file():
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
