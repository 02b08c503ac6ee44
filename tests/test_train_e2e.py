"""Real runs through the console entry points, in subprocesses, offline."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from tests.conftest import offline_env, run_cli

FAST = ["trainer=fast", "data=random"]


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("outputs/runs/*/*/config.yaml"))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], str]:
    """Two runs started at the same moment in one folder: default loggers, and CSV only."""
    cwd = tmp_path_factory.mktemp("e2e")
    env = offline_env(cwd)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dcgan_lab.train", *FAST, *extra],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for extra in ([], ["logger=csv", "seed=7"])
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    return cwd, run_dirs(cwd), outputs[0]


def test_concurrent_runs_get_their_own_dirs(two_runs) -> None:
    _, dirs, _ = two_runs
    assert len(dirs) == 2 and dirs[0] != dirs[1]
    seeds = sorted(OmegaConf.load(d / "config.yaml").seed for d in dirs)
    assert seeds == [7, 42]


def test_run_writes_config_checkpoint_grids_and_metrics_csv(two_runs) -> None:
    _, dirs, _ = two_runs
    for run in dirs:
        cfg = OmegaConf.load(run / "config.yaml")
        assert cfg.paths.output_dir == str(run.resolve()) or Path(cfg.paths.output_dir) == run
        ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
        # trainer=fast: 2 epochs of 4 batches, two optimizer steps (D, G) per batch.
        assert ckpt["epoch"] == 2 and ckpt["global_step"] == 16
        assert "fixed_noise" in ckpt["state_dict"]
        assert len(ckpt["optimizer_states"]) == 2
        assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
            "epoch_000.png",
            "epoch_001.png",
        ]
        with open(run / "csv" / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        losses = [float(r["train/d_loss"]) for r in rows if r.get("train/d_loss")]
        assert len(losses) >= 4 and all(np.isfinite(losses))
        assert any(r.get("val/d_real") for r in rows)


def test_wandb_goes_offline_without_a_login_and_logs_locally(two_runs) -> None:
    _, dirs, output = two_runs
    with_wandb = [d for d in dirs if (d / "wandb").exists()]
    assert len(with_wandb) == 1
    assert "W&B: offline (no W&B API key" in output
    offline_runs = list((with_wandb[0] / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    assert list(offline_runs[0].glob("*.wandb"))


def test_sample_writes_npz_and_grid_from_a_checkpoint(two_runs, tmp_path: Path) -> None:
    cwd, dirs, _ = two_runs
    ckpt = dirs[0] / "checkpoints" / "last.ckpt"
    result = run_cli(["dcgan-sample", f"ckpt_path={ckpt}", "n=10", f"out_dir={tmp_path}"], cwd=cwd)
    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / "samples_10.npz")["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8
    assert images.min() >= 0 and images.max() <= 255 and images.std() > 0
    assert (tmp_path / "samples_10.png").stat().st_size > 0
    default_out = run_cli(["dcgan-sample", f"ckpt_path={ckpt}", "n=3"], cwd=cwd)
    assert default_out.returncode == 0, default_out.stderr
    assert len(list(cwd.glob("outputs/samples/*/*/samples_3.npz"))) == 1


def test_multirun_jobs_get_their_own_dirs_under_outputs(tmp_path: Path) -> None:
    result = run_cli(
        ["dcgan-train", "-m", *FAST, "logger=csv", "width=narrow,base", "trainer.max_epochs=1"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = sorted(tmp_path.glob("outputs/multiruns/*/*/*/checkpoints/last.ckpt"))
    assert [p.parent.parent.name for p in jobs] == ["0", "1"]
    widths = [OmegaConf.load(p.parent.parent / "config.yaml").model.width for p in jobs]
    assert widths == [32, 64]
