"""A CSV logger that continues a resumed run's metrics.csv instead of deleting it."""

from __future__ import annotations

import csv

from lightning_fabric.loggers.csv_logs import _ExperimentWriter
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment


class AppendingExperimentWriter(ExperimentWriter):
    """Lightning's writer deletes an existing metrics.csv; this one appends under its header.

    A resumed run logs again the steps the earlier process logged after its last
    checkpoint, so before the first new row the file drops its rows from that step on:
    no step appears twice.
    """

    resumed_rows_trimmed = False

    def _check_log_dir_exists(self) -> None:
        if not self._fs.isfile(self.metrics_file_path):
            self.resumed_rows_trimmed = True  # a fresh file: nothing to trim
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as f:
            self.metrics_keys = next(csv.reader(f), [])  # new keys extend and rewrite it

    def log_metrics(self, metrics_dict: dict[str, float], step: int | None = None) -> None:
        if not self.resumed_rows_trimmed and step is not None:
            self.resumed_rows_trimmed = True
            self.drop_rows_from(step)
        super().log_metrics(metrics_dict, step)

    def drop_rows_from(self, step: int) -> None:
        with self._fs.open(self.metrics_file_path, "r", newline="") as f:
            rows = list(csv.DictReader(f))
        kept = [row for row in rows if not logged_at_or_after(row, step)]
        if len(kept) == len(rows):
            return
        with self._fs.open(self.metrics_file_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(kept)


def logged_at_or_after(row: dict[str, str | None], step: int) -> bool:
    if None in row.values():  # fewer fields than the header: a killed process's half line
        return True
    try:
        return int(row.get("step") or "") >= step
    except ValueError:
        return True


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` whose metrics.csv survives ``ckpt_path=...`` resumes in the same run dir."""

    @property
    @rank_zero_experiment
    def experiment(self) -> _ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
