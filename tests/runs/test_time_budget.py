"""The CPU's 10-minute budget (trainer.max_time): the run stops, scores its last weights."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from dcgan_lab.cli.train import train


def test_the_cpu_default_caps_a_run_at_ten_minutes(
    compose_train: Callable[..., DictConfig],
) -> None:
    assert compose_train().trainer.max_time == "00:00:10:00"
    assert compose_train("trainer=gpu").trainer.get("max_time") is None


def test_a_run_stopped_by_its_time_budget_scores_its_last_weights_and_says_so(
    compose_train: Callable[..., DictConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = compose_train(
        "data=random", "logger=csv", "trainer.max_epochs=1000", "trainer.max_time=00:00:00:04",
        "trainer.enable_progress_bar=false", "metrics.extractor_steps=30", "metrics.n_fake=64",
        f"paths.cache_dir={tmp_path / 'c'}",
    )  # fmt: skip
    train(cfg)
    out = capsys.readouterr().out
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    epochs = saved["epoch"] + 1
    assert 0 < epochs < 1000
    assert f"stopped at the time budget trainer.max_time=00:00:00:04 after {epochs} of 1000 " in out
    assert "stopped at the time budget" in (tmp_path / "run" / "train.log").read_text()
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        scored = [int(r["step"]) for r in csv.DictReader(f) if r["val/fid"]]
    # The log axis counts batches (two optimizer steps each): the last batch was scored.
    assert scored[-1] == saved["global_step"] // 2 - 1
