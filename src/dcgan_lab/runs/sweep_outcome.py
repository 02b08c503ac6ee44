"""After a multirun, count its failed jobs so ``dcgan-train -m`` can exit non-zero.

A failed job does not stop the sweep (its ``status.json`` says why); Hydra's callback runs
in the launching process once every job has ended, whatever the launcher, and reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dcgan_lab.runs.run_dir import RunDir


@dataclass
class Outcome:
    sweep: Path
    jobs: int
    failed: list[str]  # job names (their subfolders)

    def summary(self) -> str:
        return (
            f"{len(self.failed)} of {self.jobs} jobs failed (jobs {', '.join(self.failed)}; "
            f"their status.json and train.log in {self.sweep} say why)"
        )


last: Outcome | None = None  # the sweep this process ran last, once it has ended


def read_outcome(sweep: Path) -> Outcome:
    failed, jobs = [], 0
    for status_file in sorted(sweep.glob("*/status.json")):
        jobs += 1
        status = (RunDir(status_file.parent).read_status() or {}).get("status", "unreadable")
        if status not in ("completed", "running"):
            failed.append(status_file.parent.name)
    return Outcome(sweep, jobs, failed)


class SweepOutcome(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global last
        last = read_outcome(Path(config.hydra.sweep.dir))
