"""One process trains a run folder at a time; the lock dies with its process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dcgan_lab.errors import UserError
from dcgan_lab.runs import lock

HOLD = (
    "import sys, time; from pathlib import Path; from dcgan_lab.runs import lock; "
    "lock.acquire(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)"
)


def test_a_second_process_is_refused_until_the_first_ends(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert lock.is_locked(run)
        with pytest.raises(UserError, match="is being trained by another process"):
            lock.acquire(run)
    finally:
        holder.kill()  # a killed trainer frees its run
        holder.wait(timeout=30)
    assert not lock.is_locked(run)
    lock.acquire(run)
    lock.acquire(run)  # again in the same process: fine (a resume within one process)
    lock.release(run)
    assert not lock.is_locked(run) and lock.lock_file(run).read_text() == ""
