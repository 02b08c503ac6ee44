"""One class that owns every path of a run folder, so the layout is written down once.

    <run>/config.yaml              the resolved config the run trained with
    <run>/.hydra/overrides.yaml    its command-line overrides (resume replays them)
    <run>/status.json              running, completed, diverged, interrupted, failed or crashed
    <run>/checkpoints/last.ckpt    rewritten every epoch; best.ckpt: lowest val/fid
    <run>/samples/epoch_NNN.png    the fixed-noise grid
    <run>/csv/metrics.csv          every logged value
    <run>/wandb/                   the W&B run (offline-run-* when offline)
    <run>/tensorboard/             TensorBoard's event files (logger=tensorboard)
    <run>/mlflow.json              the MLflow run this folder logs to (a resume continues it)
    <run>/train.log                the run's log lines

The YAML side names the same folders through ``paths.*`` (conf/paths/default.yaml).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcgan_lab.runs.atomic import atomic_write_text

GRID_PATTERN = "epoch_*.png"  # the fixed-noise grid of each epoch, in samples/
GRID_NAME = re.compile(r"epoch_(\d+)\.png")


def grid_name(epoch: int) -> str:
    return f"epoch_{epoch:03d}.png"


def epoch_grids(samples_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of each ``samples_dir/epoch_NNN.png``, in epoch order."""
    found = [
        (int(m.group(1)), p)
        for p in samples_dir.glob(GRID_PATTERN)
        if (m := GRID_NAME.fullmatch(p.name))
    ]
    return sorted(found)


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def overrides(self) -> Path:
        return self.root / ".hydra" / "overrides.yaml"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def checkpoint(self, name: str = "last") -> Path:
        return self.checkpoints / f"{name}.ckpt"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def grids(self) -> list[Path]:
        return [path for _, path in epoch_grids(self.samples)]

    @property
    def metrics_csv(self) -> Path:
        return self.root / "csv" / "metrics.csv"

    @property
    def wandb(self) -> Path:
        return self.root / "wandb"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def mlflow_record(self) -> Path:
        return self.root / "mlflow.json"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def data_record(self) -> Path:
        """What the run trained on (``data.json``: name, digest, split sizes)."""
        return self.root / "data.json"

    def write_data_record(self, record: dict[str, Any]) -> None:
        atomic_write_text(self.data_record, json.dumps(record, indent=2))

    def read_data_record(self) -> dict[str, Any] | None:
        return read_json_object(self.data_record)

    @classmethod
    def of_checkpoint(cls, checkpoint: Path) -> RunDir | None:
        """The run a ``<run>/checkpoints/x.ckpt`` belongs to, if it sits in one."""
        run = cls(checkpoint.parent.parent)
        return run if checkpoint.parent.name == "checkpoints" else None

    def holds_run(self) -> bool:
        """A run has started training here (config.yaml is written as training starts); a
        run rejected before that leaves nothing worth keeping."""
        return self.config.exists() or self.checkpoints.exists()

    def write_config(self, yaml_text: str) -> None:
        atomic_write_text(self.config, yaml_text)

    def write_status(self, status: str, **details: object) -> None:
        atomic_write_text(self.status, json.dumps({"status": status, **details}, indent=2))

    def read_status(self) -> dict[str, Any] | None:
        return read_json_object(self.status)

    def write_overrides(self, yaml_text: str) -> None:
        atomic_write_text(self.overrides, yaml_text)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON file holding an object; None when it is missing, unreadable or another value."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
