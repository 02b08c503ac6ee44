"""Resume: ``ckpt_path`` continues a run exactly, in its own dir, with its own W&B run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from dcgan_lab.cli.train import train
from dcgan_lab.errors import UserError
from dcgan_lab.runs.resume import resume_arguments
from tests.conftest import run_cli
from tests.wandb_records import read_run

# Small epochs on the embedded digits; no scoring (the metric state has its own test).
QUICK = ["trainer=fast", "trainer.limit_train_batches=6", "metrics=none", "logger=csv"]


def final_state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)


def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(
    compose_train, tmp_path: Path
) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(compose_train(*QUICK, "trainer.max_epochs=3", f"paths.output_dir={whole}"))
    train(compose_train(*QUICK, "trainer.max_epochs=1", f"paths.output_dir={split}"))
    after_one = final_state(split)
    assert after_one["epoch"] == 0 and after_one["global_step"] == 12  # 6 batches x (D, G)
    train(
        compose_train(
            *QUICK,
            "trainer.max_epochs=3",
            f"paths.output_dir={split}",
            f"ckpt_path={split / 'checkpoints' / 'last.ckpt'}",
        )
    )
    expected, resumed = final_state(whole), final_state(split)
    assert resumed["global_step"] == expected["global_step"] == 36
    assert expected["state_dict"].keys() == resumed["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():  # G, D, BN statistics, fixed noise
        assert torch.equal(tensor, resumed["state_dict"][name]), name
    for want, got in zip(expected["optimizer_states"], resumed["optimizer_states"], strict=True):
        for param_id, moments in want["state"].items():  # Adam's step, exp_avg, exp_avg_sq
            for key, value in moments.items():
                assert torch.equal(value, got["state"][param_id][key]), (param_id, key)
    # Not vacuous: the weights moved after the resume.
    g_weight = "generator.project.0.weight"
    assert not torch.equal(after_one["state_dict"][g_weight], resumed["state_dict"][g_weight])


def write_run(root: Path, stamp: str, overrides: list[str]) -> Path:
    run = root / "outputs" / "runs" / "2026-01-01" / stamp
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(overrides))
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"x")
    return run


def test_ckpt_path_last_picks_the_newest_run_and_reuses_its_overrides(tmp_path: Path) -> None:
    runs = tmp_path / "outputs" / "runs"
    older = write_run(tmp_path, "10-00-00-000000", ["width=narrow"])
    newer = write_run(tmp_path, "11-00-00-000000", ["width=wide", "seed=3"])
    ckpt = newer / "checkpoints" / "last.ckpt"
    older_ckpt = older / "checkpoints" / "last.ckpt"
    os.utime(older_ckpt, (1_000, 1_000))
    os.utime(ckpt, (2_000, 2_000))  # newest by modification time
    args = resume_arguments(["ckpt_path=last", "seed=5", "--cfg", "job"], runs)
    assert args == [
        "--cfg", "job", "width=wide", "seed=5", f"ckpt_path='{ckpt}'", f"hydra.run.dir='{newer}'",
        "hydra.output_subdir=null",
    ]  # fmt: skip
    # An explicit checkpoint of the older run resumes that one.
    args = resume_arguments([f"ckpt_path={older_ckpt}"], runs)
    assert f"hydra.run.dir='{older}'" in args and "width=narrow" in args


def test_checkpoint_outside_a_run_dir_starts_a_new_run_from_it(tmp_path: Path) -> None:
    foreign = tmp_path / "model.ckpt"
    foreign.write_bytes(b"x")
    assert resume_arguments([f"ckpt_path={foreign}", "width=wide"], tmp_path) == [
        f"ckpt_path='{foreign}'",
        "width=wide",
    ]


def test_ckpt_path_last_without_any_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no run under .* has checkpoints/last.ckpt"):
        resume_arguments(["ckpt_path=last"], tmp_path / "outputs" / "runs")


@pytest.mark.slow  # two subprocess runs; in-process resume tests stay
def test_resume_by_cli_continues_the_run_dir_csv_and_wandb_run(tmp_path: Path) -> None:
    common = ["data=random", "trainer=fast", "metrics=none", "logger=default"]
    first = run_cli(["dcgan-train", *common, "width=narrow"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    # Only the changed key is given: width=narrow comes from the run's own overrides.
    resumed = run_cli(["dcgan-train", "ckpt_path=last", "trainer.max_epochs=3"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (run,) = [p.parent for p in tmp_path.glob("outputs/runs/*/*/checkpoints")]
    state = final_state(run)
    assert state["epoch"] == 2 and state["hyper_parameters"]["generator"]["width"] == 32
    overrides = OmegaConf.load(run / ".hydra" / "overrides.yaml")  # the next resume's base
    assert "width=narrow" in overrides and "trainer.max_epochs=3" in overrides
    epochs = [line.split(",")[0] for line in (run / "csv" / "metrics.csv").read_text().split()]
    assert epochs[0] == "epoch" and sorted(set(epochs[1:])) == ["0", "1", "2"]
    wandb_runs = sorted((run / "wandb").glob("offline-run-*"))
    assert len(wandb_runs) == 2
    records = [read_run(next(d.glob("*.wandb"))) for d in wandb_runs]
    assert records[0].run_id == records[1].run_id != ""
    assert all(r.finished for r in records)
