"""TensorBoard and MLflow runs read back through the tools' own readers: the values of
metrics.csv at the same steps, across a resume, with the pictures, config and checkpoint."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from dcgan_lab.cli.train import train
from tests.conftest import FAST_METRICS, run_cli

LOGGERS = "logger=[csv,tensorboard,mlflow]"
QUICK = ["trainer=fast", "data=random", *FAST_METRICS]
TAGS = ("train/d_loss", "train/g_loss", "val/fid", "val/fid_best")


def csv_points(run: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} of a run's metrics.csv."""
    points: dict[str, dict[int, float]] = {tag: {} for tag in TAGS}
    with open(run / "csv" / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            for tag in TAGS:
                if row.get(tag):
                    points[tag][int(row["step"])] = float(row[tag])
    return points


def tensorboard_events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A 1-epoch run resumed to 2 epochs, then resumed again from its epoch-0 checkpoint (as
    after a process killed past its last checkpoint): epoch 1's steps are logged twice."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.conftest import CONF

    tmp = tmp_path_factory.mktemp("loggers")
    run, store = tmp / "run", tmp / "mlflow.db"
    common = [*QUICK, LOGGERS, f"paths.output_dir={run}", f"paths.cache_dir={tmp / 'cache'}",
              f"logger.mlflow.store={store}", "trainer.accelerator=cpu"]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        train(compose("train", overrides=[*common, "trainer.max_epochs=1"]))
        first_id = json.loads((run / "mlflow.json").read_text())["run_id"]
        shutil.copy(run / "checkpoints" / "last.ckpt", tmp / "epoch0.ckpt")
        last = run / "checkpoints" / "last.ckpt"
        train(compose("train", overrides=[*common, "trainer.max_epochs=2", f"ckpt_path={last}"]))
        again = [*common, "trainer.max_epochs=2", f"ckpt_path={tmp / 'epoch0.ckpt'}"]
        train(compose("train", overrides=again))
    GlobalHydra.instance().clear()
    return run, store, first_id


def test_tensorboard_holds_each_csv_value_at_its_step_once(resumed_run) -> None:
    run, _, _ = resumed_run
    expected, events = csv_points(run), tensorboard_events(run)
    for tag in TAGS:
        steps = [event.step for event in events.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag}: a step twice after the resume"
        got = {event.step: event.value for event in events.Scalars(tag)}
        assert got == pytest.approx(expected[tag], rel=1e-6), tag  # float32 in the events
    assert len(expected["train/d_loss"]) == 8  # 4 batches x 2 epochs, each logged once
    grid_steps = [image.step for image in events.Images("samples")]
    assert grid_steps == sorted(expected["val/fid"])  # one grid per epoch, at its scores' step
    assert events.Images("samples")[0].width > 100  # the 8 x 8 grid of 28-pixel digits


def test_tensorboard_hparams_tab_has_the_config_and_val_fid_best(resumed_run) -> None:
    run, _, _ = resumed_run
    content = tensorboard_events(run).PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    metrics = [info.name.tag for info in experiment.experiment.metric_infos]
    assert "val/fid_best" in metrics
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["seed"].number_value == 42
    assert start.hparams["model/generator/latent_dim"].number_value == 100  # resolved


def test_mlflow_continues_one_run_with_the_csv_values_artifacts_and_params(resumed_run) -> None:
    run, store, first_id = resumed_run
    client = MlflowClient(f"sqlite:///{store}")
    assert json.loads((run / "mlflow.json").read_text())["run_id"] == first_id
    experiment = client.get_experiment_by_name("dcgan-lab")
    assert experiment is not None
    assert [r.info.run_id for r in client.search_runs([experiment.experiment_id])] == [first_id]
    found = client.get_run(first_id)
    assert found.info.status == "FINISHED"
    assert found.data.params["seed"] == "42"
    assert found.data.params["model/generator/latent_dim"] == "100"  # compact, conditional
    assert found.data.params["trainer/max_epochs"] == "1"  # MLflow keeps a param's first value
    for tag, points in csv_points(run).items():
        history = client.get_metric_history(first_id, tag)
        # a step logged again after a hard kill is in MLflow's history twice, same value
        assert {m.step: m.value for m in history} == pytest.approx(points, rel=1e-9), tag
    top = {a.path for a in client.list_artifacts(first_id)}
    assert {"config.yaml", "best.ckpt", "samples"} <= top
    samples = {Path(a.path).name for a in client.list_artifacts(first_id, "samples")}
    assert {"epoch_000.png", "epoch_001.png", "progress.gif"} <= samples


@pytest.mark.slow  # two jobs in a subprocess, about 40 s: nox -s slow
def test_a_multirun_is_one_mlflow_parent_with_a_child_per_job(tmp_path: Path) -> None:
    """The command a user types, with the default store (outputs/mlflow.db where it runs)."""
    result = run_cli(
        ["dcgan-train", "-m", "seed=1,2", "debug=fast", "logger=mlflow", "metrics=none"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("dcgan-lab")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert sorted(r.info.run_name for r in children) == [
        "debug=fast,metrics=none,seed=1",
        "debug=fast,metrics=none,seed=2",
    ]
    assert parents[0].info.run_name.startswith("sweep-")
    assert all(r.data.metrics["train/d_loss"] > 0 for r in children)
