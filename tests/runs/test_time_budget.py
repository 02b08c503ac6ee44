"""The CPU's 10-minute budget (trainer.max_time): the run stops, scores its last weights."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from dcgan_lab.cli.train import train


def test_the_cpu_default_caps_a_run_at_ten_minutes(
    compose_train: Callable[..., DictConfig],
) -> None:
    assert compose_train().trainer.max_time == "00:00:10:00"
    assert compose_train("trainer=gpu").trainer.get("max_time") is None


@pytest.mark.parametrize("experiment", ["keras", "fashion"])
def test_an_experiment_with_its_own_length_runs_all_of_it(compose_train, experiment) -> None:
    assert compose_train(f"experiment={experiment}").trainer.max_time is None


def test_the_end_line_counts_a_recipe_in_its_own_units(
    compose_train: Callable[..., DictConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    """A budget given to experiment=keras (on request) stops it in iterations, not epochs."""
    cfg = compose_train(
        "experiment=keras", "data=random", "logger=csv", "metrics=none",
        "trainer.max_time=00:00:00:03", "callbacks.stop_at_iteration.iterations=100000",
        "trainer.enable_progress_bar=false",
    )  # fmt: skip
    train(cfg)
    out = capsys.readouterr().out
    assert "of 100000 iterations (trainer.max_time=null trains them all" in out
    assert " epochs" not in out.split("stopped at the time budget")[1].splitlines()[0]


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


def test_a_budgeted_fp32_run_on_a_cpu_with_native_bf16_names_the_faster_precision(
    compose_train: Callable[..., DictConfig],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The line `dcgan-train` prints where bf16 would buy steps (any CPU here: the check of
    the CPU is patched); the precision the run trains in stays the config's."""
    monkeypatch.setattr("dcgan_lab.cli.train.native_bf16_cpu", lambda: True)
    cfg = compose_train(
        "data=random", "logger=csv", "metrics=none", "trainer.max_time=00:00:00:02",
        "trainer.enable_progress_bar=false",
    )  # fmt: skip
    train(cfg)
    out = capsys.readouterr().out
    line = "this CPU runs bf16 natively (AVX-512 BF16 or AMX): trainer.precision=bf16-mixed"
    assert line in out
    assert line in (tmp_path / "run" / "train.log").read_text()
    assert OmegaConf.load(tmp_path / "run" / "config.yaml").trainer.precision == "32-true"
