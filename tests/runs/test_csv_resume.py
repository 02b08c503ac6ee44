"""A resumed run's metrics.csv: appended to, and no step logged twice."""

from __future__ import annotations

import csv
from pathlib import Path

from dcgan_lab.runs.csv_logger import ResumableCSVLogger


def test_a_resume_drops_the_rows_it_logs_again(tmp_path: Path) -> None:
    metrics = tmp_path / "csv" / "metrics.csv"
    metrics.parent.mkdir()
    # the killed process logged steps 9, 19 and 29 (and half a line); its checkpoint was at 14
    metrics.write_text("epoch,step,train/d_loss\n0,9,1.0\n0,19,0.9\n1,29,0.8\n1,3")
    logger = ResumableCSVLogger(save_dir=str(tmp_path), name="csv", version="")
    logger.log_metrics({"train/d_loss": 0.5, "epoch": 0}, step=19)  # the resumed process
    logger.log_metrics({"train/d_loss": 0.4, "epoch": 1}, step=29)
    logger.save()
    with open(metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["step"], r["train/d_loss"]) for r in rows] == [
        ("9", "1.0"), ("19", "0.5"), ("29", "0.4"),
    ]  # fmt: skip
