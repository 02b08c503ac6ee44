"""Resume: ``ckpt_path`` continues a run exactly, in its own dir, with its own W&B run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from dcgan_lab.cli.train import train
from dcgan_lab.errors import UserError
from dcgan_lab.runs.resume import quoted, resume_arguments
from tests.conftest import run_cli
from tests.wandb_records import read_run

# Small epochs on the embedded digits; no scoring (the metric state has its own test).
QUICK = ["trainer=fast", "trainer.limit_train_batches=6", "metrics=none", "logger=csv"]


def final_state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.parametrize(
    ("recipe", "steps_per_batch"),
    [
        ([], 2),  # D, G
        # The Keras recipe: batches drawn with replacement, D real, D fake, G per batch.
        pytest.param(["experiment=keras", "data.batches_per_epoch=6"], 3, marks=pytest.mark.slow),
    ],
    ids=["default", "keras"],
)
def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(
    compose_train, tmp_path: Path, recipe: list[str], steps_per_batch: int
) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    quick = [*QUICK, *recipe, "trainer.max_epochs=2"]
    train(compose_train(*quick, f"paths.output_dir={whole}"))
    # The same run stopped after its first epoch, as Ctrl-C or a crash would stop it: its
    # settings unchanged, since the EMA's span reads the run's length (max_epochs=1 here
    # would give the first epoch other EMA decays)
    stop_early = "++callbacks.stop_at_iteration"
    train(
        compose_train(
            *quick,
            f"{stop_early}._target_=dcgan_lab.training.stop.StopAtIteration",
            f"{stop_early}.iterations=6",
            f"paths.output_dir={split}",
        )
    )
    after_one = final_state(split)
    assert after_one["epoch"] == 0 and after_one["global_step"] == 6 * steps_per_batch
    train(
        compose_train(
            *quick,
            f"paths.output_dir={split}",
            f"ckpt_path={split / 'checkpoints' / 'last.ckpt'}",
        )
    )
    expected, resumed = final_state(whole), final_state(split)
    assert resumed["global_step"] == expected["global_step"] == 12 * steps_per_batch
    assert expected["state_dict"].keys() == resumed["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():  # G, D, BN statistics, fixed noise
        assert torch.equal(tensor, resumed["state_dict"][name]), name
    for want, got in zip(expected["optimizer_states"], resumed["optimizer_states"], strict=True):
        for param_id, moments in want["state"].items():  # Adam's step and moments
            for key, value in moments.items():
                assert torch.equal(
                    torch.as_tensor(value), torch.as_tensor(got["state"][param_id][key])
                ), (param_id, key)
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


@pytest.mark.parametrize(
    ("config", "overrides", "typed", "conditioning"),
    [
        # trained before the default followed the data's labels: unconditional stays so
        ("model: {conditional: false}", [], [], "false"),
        ("model: {latent_dim: 16}", [], [], "false"),  # a config from before the key existed
        ("model: {conditional: true}", [], [], "true"),
        ("model: {conditional: clusters}", ["technique=clusters"], [], "clusters"),
        ("model: {conditional: true}", ["model.conditional=true"], [], "true"),  # its own
        ("model: {conditional: false}", [], ["model.conditional=true"], "true"),  # typed wins
    ],
)
def test_a_resume_keeps_the_conditioning_the_run_trained_with(
    tmp_path: Path, config: str, overrides: list[str], typed: list[str], conditioning: str
) -> None:
    run = write_run(tmp_path, "10-00-00-000000", overrides)
    (run / "config.yaml").write_text(config)
    args = resume_arguments(["ckpt_path=last", *typed], tmp_path / "outputs" / "runs")
    assert [a for a in args if a.startswith("model.conditional=")] == [
        f"model.conditional={conditioning}"
    ]
    assert [a for a in args if a in overrides] == overrides  # the run's own still replayed


@pytest.mark.parametrize(
    ("config", "typed", "label_norm"),
    [
        # trained before G's BatchNorms followed the labels: the plain G stays
        ("model: {conditional: true, generator: {label_dim: 16}}", [], "false"),
        ("model: {conditional: true, generator: {label_norm: true}}", [], "true"),
        ("model: {conditional: false, generator: {label_norm: false}}", [], "false"),
        ("model: {conditional: true}", ["model.generator.label_norm=true"], "true"),  # typed wins
    ],
)
def test_a_resume_keeps_the_generator_the_run_trained(
    tmp_path: Path, config: str, typed: list[str], label_norm: str
) -> None:
    run = write_run(tmp_path, "10-00-00-000000", [])
    (run / "config.yaml").write_text(config)
    args = resume_arguments(["ckpt_path=last", *typed], tmp_path / "outputs" / "runs")
    assert [a for a in args if a.startswith("model.generator.label_norm=")] == [
        f"model.generator.label_norm={label_norm}"
    ]


def test_checkpoint_outside_a_run_dir_starts_a_new_run_from_it(tmp_path: Path) -> None:
    foreign = tmp_path / "model.ckpt"
    foreign.write_bytes(b"x")
    assert resume_arguments([f"ckpt_path={foreign}", "width=wide"], tmp_path) == [
        f"ckpt_path='{foreign}'",
        "width=wide",
    ]


def test_ckpt_path_last_with_a_run_dir_resumes_that_run(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "outputs" / "runs"
    older = write_run(tmp_path, "10-00-00-000000", ["width=narrow"])
    newer = write_run(tmp_path, "11-00-00-000000", ["width=wide"])
    os.utime(newer / "checkpoints" / "last.ckpt", (2_000, 2_000))
    os.utime(older / "checkpoints" / "last.ckpt", (1_000, 1_000))
    args = resume_arguments(["ckpt_path=last", f"hydra.run.dir={older}", "seed=4"], runs)
    assert args == [
        "width=narrow", f"ckpt_path='{older / 'checkpoints' / 'last.ckpt'}'", "seed=4",
        f"hydra.run.dir='{older}'", "hydra.output_subdir=null",
    ]  # fmt: skip
    assert f"resuming the run in {older} from last.ckpt" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        # a folder holding a run is never trained into afresh
        ("run", ["hydra.run.dir={dir}"], "already holds a run; resume it with ckpt_path=last"),
        ("run", ["hydra.run.dir={dir}", "ckpt_path={foreign}"], "already holds a run"),
        ("config", ["hydra.run.dir='{dir}'", "width=wide"], "already holds a run"),
        # ckpt_path=last in a folder without a checkpoint
        ("empty", ["ckpt_path=last", "hydra.run.dir={dir}"], "holds no checkpoints/last.ckpt"),
    ],
)
def test_a_run_dir_holding_a_run_is_only_resumed(
    tmp_path: Path, make: str, args: list[str], message: str
) -> None:
    run = write_run(tmp_path, "10-00-00-000000", ["width=narrow"])
    if make == "config":  # started, killed before its first checkpoint
        (run / "checkpoints" / "last.ckpt").unlink()
        (run / "checkpoints").rmdir()
        (run / "config.yaml").write_text("seed: 1\n")
    if make == "empty":
        run = tmp_path / "empty"
        run.mkdir()
    foreign = tmp_path / "model.ckpt"
    foreign.write_bytes(b"x")
    filled = [a.format(dir=run, foreign=foreign) for a in args]
    with pytest.raises(UserError, match=message):
        resume_arguments(filled, tmp_path / "outputs" / "runs")


def test_a_new_run_dir_and_a_rejected_runs_dir_are_free(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    assert resume_arguments([f"hydra.run.dir={fresh}"]) == [f"hydra.run.dir={fresh}"]
    rejected = tmp_path / "rejected"  # bad input: Hydra's record and a status, no training
    (rejected / ".hydra").mkdir(parents=True)
    (rejected / "status.json").write_text('{"status": "failed"}')
    assert resume_arguments([f"hydra.run.dir={rejected}"]) == [f"hydra.run.dir={rejected}"]


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


@pytest.mark.parametrize("name", ["with space", "it's", 'say "hi"', "ünïcödé ✓", "a=b,c"])
def test_resume_arguments_survive_hydras_parser_whatever_the_folder_name(
    tmp_path: Path, name: str
) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    root = tmp_path / name
    run = write_run(root, "10-00-00-000000", ["width=narrow"])
    args = resume_arguments(["ckpt_path=last"], root / "outputs" / "runs")
    parsed = {o.key_or_group: o.value() for o in OverridesParser.create().parse_overrides(args)}
    assert parsed["hydra.run.dir"] == str(run)
    assert parsed["ckpt_path"] == str(run / "checkpoints" / "last.ckpt")
    # and typed back by hand, quoted as a shell user would
    again = resume_arguments(["ckpt_path=last", f"hydra.run.dir={quoted(run)}"], tmp_path)
    assert again == args


@pytest.mark.slow  # two subprocess runs
def test_training_and_resume_work_in_a_folder_with_quotes_spaces_and_accents(
    tmp_path: Path,
) -> None:
    cwd = tmp_path / "my runs 'ü' \"q\""
    cwd.mkdir()
    first = run_cli(["dcgan-train", *QUICK, "trainer.max_epochs=1"], cwd=cwd)
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_cli(["dcgan-train", "ckpt_path=last", "trainer.max_epochs=2"], cwd=cwd)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (run,) = cwd.glob("outputs/runs/*/*")
    assert final_state(run)["epoch"] == 1 and "resuming the run in" in resumed.stdout


def test_a_newer_run_that_died_before_its_first_checkpoint_is_reported(
    tmp_path: Path, capsys
) -> None:
    runs = tmp_path / "outputs" / "runs"
    older = write_run(tmp_path, "10-00-00-000000", ["width=narrow"])
    dead = runs / "2026-01-01" / "11-00-00-000000"  # started (config.yaml), killed early
    (dead / ".hydra").mkdir(parents=True)
    (dead / "config.yaml").write_text("seed: 1\n")
    (dead / "status.json").write_text('{"status": "running"}')
    args = resume_arguments(["ckpt_path=last"], runs)
    assert f"hydra.run.dir='{older}'" in args  # the older run is resumed, and said so
    out = capsys.readouterr().out
    assert f"note: the newer run {dead} has no checkpoint (crashed); it cannot be resumed" in out
    assert f"resuming the run in {older}" in out
    assert json.loads((dead / "status.json").read_text())["status"] == "crashed"
    assert (dead / "config.yaml").read_text() == "seed: 1\n"  # nothing else of it rewritten


def test_a_resume_on_changed_data_is_refused_naming_the_data(compose_train, tmp_path: Path):
    """Images added to the folder since the run started: the resume says so (not a model
    key), and the run is untouched; a new run from the checkpoint, as advised, trains."""
    from tests.training.test_batches_of_one import grey_pngs

    root = grey_pngs(tmp_path / "pngs", 40)
    run = tmp_path / "run"
    quick = [*QUICK, "data=folder", f"data.source.root={root}", "data.channels=1",
             "data.image_size=28", "data.batch_size=8", "trainer.max_epochs=1"]  # fmt: skip
    train(compose_train(*quick, f"paths.output_dir={run}"))
    assert json.loads((run / "data.json").read_text())["splits"].startswith("36 training")
    grey_pngs(tmp_path / "more", 5)
    for extra in (tmp_path / "more").iterdir():
        extra.rename(root / f"new_{extra.name}")
    before = (run / "config.yaml").read_text()
    ckpt = f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"
    with pytest.raises(UserError, match=r"the data changed since this run started \(folder: 36 "):
        train(compose_train(*quick, "trainer.max_epochs=2", f"paths.output_dir={run}", ckpt))
    assert (run / "config.yaml").read_text() == before
    elsewhere = tmp_path / "elsewhere"
    train(compose_train(*quick, "trainer.max_epochs=2", f"paths.output_dir={elsewhere}", ckpt))
    assert (elsewhere / "checkpoints" / "last.ckpt").is_file()
