"""The Python API: the examples of docs/python_api.md as written, its errors (the commands'
lines, as exceptions), and that it leaves the interpreter as it found it."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dcgan_lab
from dcgan_lab.errors import UserError
from tests.conftest import CONF

DOC = CONF.parent / "docs" / "python_api.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def documented_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The first example, run as written in a fresh folder; its variables."""
    folder = tmp_path_factory.mktemp("api")
    here = Path.cwd()
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    os.chdir(folder)
    try:
        namespace: dict[str, Any] = {}
        exec(examples()[0], namespace)
    finally:
        os.chdir(here)
    namespace["handlers_before"] = handlers
    namespace["handlers_after"] = (
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
    )
    return namespace


def test_the_documented_example_trains_samples_and_evaluates(documented_run) -> None:
    run, drawn, scores = documented_run["run"], documented_run["drawn"], documented_run["scores"]
    assert run.run_dir.is_dir() and (run.run_dir / ".hydra" / "overrides.yaml").is_file()
    assert run.checkpoint == run.run_dir / "checkpoints" / "best.ckpt" and run.checkpoint.is_file()
    assert run.best_fid is not None and run.best_fid == pytest.approx(run.scores["val/fid_best"])
    assert (run.run_dir / "train.log").read_text().strip().endswith("finished at step 16")
    npz, png = drawn.files
    assert np.load(npz)["images"].shape == (16, 28, 28) and png.is_file()
    (row,) = scores.rows
    assert row["checkpoint"] == str(run.checkpoint) and scores.json.is_file()
    assert row["fid"] == pytest.approx(run.best_fid, rel=1e-4)  # the run's own protocol


def test_no_signal_handler_is_left_installed(documented_run) -> None:
    assert documented_run["handlers_after"] == documented_run["handlers_before"]


@pytest.mark.parametrize(
    ("call", "overrides", "message"),
    [
        ("train", ["model.generator.width=0"],
         "model.generator.width=0 must be a positive integer (e.g. model.generator.width=64)"),
        ("train", ["width=huge"], "unknown width 'huge'; choose one of: base, narrow, wide"),
        ("train", ["model.dropot=0.2"], "Could not override 'model.dropot'"),
        ("train", ["hparams_search=seeds"], "sweeps run from the command line"),
        ("sample", [], "ckpt_path is required: add ckpt_path=... to the command"),
        ("sample", ["ckpt_path=nowhere.ckpt"], "ckpt_path=nowhere.ckpt does not exist"),
        ("evaluate", ["copies=-1"], "copies=-1: rows of the copies picture, 0..64"),
    ],
)  # fmt: skip
def test_bad_input_raises_the_commands_line_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, overrides: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as raised:
        getattr(dcgan_lab, call)(*overrides)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    if call != "train":  # as the commands: a rejected dcgan-sample or dcgan-eval writes nothing
        assert not (tmp_path / "outputs").exists()


def test_the_compose_example_composes_with_the_hydra_node() -> None:
    namespace: dict[str, Any] = {}
    exec(examples()[1], namespace)
    cfg = namespace["cfg"]
    assert cfg.model.generator.width == 128
    assert str(cfg.hydra.run.dir).startswith("outputs/runs/")


def test_the_package_names_the_three_functions() -> None:
    assert {"train", "sample", "evaluate"} <= set(dir(dcgan_lab)) | set(dcgan_lab.__all__)
    with pytest.raises(AttributeError):
        dcgan_lab.fit  # noqa: B018
