"""debug=fast|overfit|profile|anomaly: each composed and run through the Python API (the
commands' code, in-process), and judged by what the run leaves."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from dcgan_lab import train

# The synthetic discs and a 30-step extractor: these presets are about the loop, not the data.
QUICK = [
    "data=random",
    "logger=csv",
    "metrics.extractor_steps=30",
    "trainer.enable_progress_bar=false",
]


def logged(run_dir: Path, key: str) -> list[float]:
    with (run_dir / "csv" / "metrics.csv").open() as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fast_runs_one_batch_of_everything(in_tmp: Path) -> None:
    run = train("debug=fast", *QUICK)
    assert (run.run_dir / "train.log").read_text().strip().endswith("finished at step 2")
    assert len(logged(run.run_dir, "train/d_loss")) == 1  # one training batch
    assert len(logged(run.run_dir, "val/fid")) == 1  # one scored validation
    assert run.checkpoint is not None and run.checkpoint.is_file()
    assert (run.run_dir / "samples" / "epoch_000.png").is_file()


@pytest.mark.slow  # 300 one-batch epochs: about 3 minutes on 2 cores
def test_overfit_learns_its_one_batch(in_tmp: Path) -> None:
    # One real batch seen 300 times (the preset as a user runs it): D learns to tell it from
    # G's samples, so its loss falls and its belief in the real batch pulls away from its
    # belief in the fakes.
    run = train("debug=overfit", "logger=csv", "trainer.enable_progress_bar=false")
    d_loss = logged(run.run_dir, "train/d_loss")
    gap = [r - f for r, f in zip(logged(run.run_dir, "train/d_real"),
                                 logged(run.run_dir, "train/d_fake"), strict=True)]  # fmt: skip
    assert len(d_loss) == 300
    assert statistics.fmean(d_loss[-50:]) < statistics.fmean(d_loss[:50]) - 0.05
    assert statistics.fmean(gap[-50:]) > statistics.fmean(gap[:50]) + 0.05


def test_profile_writes_a_report_naming_the_slowest_ops(in_tmp: Path) -> None:
    run = train("debug=profile", "trainer.limit_train_batches=3", *QUICK)
    (report,) = (run.run_dir / "profile").glob("*profile*.txt")
    text = report.read_text()
    assert "aten::" in text and "CPU total" in text  # torch's op table, by total CPU time


def test_anomaly_turns_on_autograd_anomaly_detection(in_tmp: Path) -> None:
    import torch

    seen: list[bool] = []
    step = torch.autograd.backward

    def watching(*args, **kwargs):
        seen.append(torch.is_anomaly_enabled())
        return step(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.autograd, "backward", watching)
        train("debug=anomaly", "trainer.limit_train_batches=2", *QUICK)
    assert seen and all(seen)
    assert not torch.is_anomaly_enabled()  # off again after the run
