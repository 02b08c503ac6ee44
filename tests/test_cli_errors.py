"""Bad input: exit 2 with one line on stderr, before training, earlier runs untouched."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from dcgan_lab import sample, train
from dcgan_lab.gan_module import DCGANModule
from tests.conftest import run_cli


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cwd holding an earlier run's outputs; HYDRA_FULL_ERROR restored afterwards."""
    earlier = tmp_path / "outputs" / "runs" / "earlier"
    (earlier / "checkpoints").mkdir(parents=True)
    (earlier / "checkpoints" / "last.ckpt").write_bytes(b"precious")
    (earlier / "config.yaml").write_text("seed: 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tmp_path


def run_main(entry, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", [entry.__name__, *args])
    with pytest.raises(SystemExit) as exit_info:
        entry.main()
    return int(exit_info.value.code or 0)


def save_checkpoint(path: Path) -> None:
    """A checkpoint of a small module in Lightning's format (the e2e test uses a trained one)."""
    module = DCGANModule(width=4, latent_dim=8)
    torch.save(
        {
            "state_dict": module.state_dict(),
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )


def corrupt_fashion(root: Path) -> Path:
    root.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (root / f"{name}").write_bytes(b"\x00\x00\x08\x03garbage")
    (root / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01")
    return root


BAD_TRAIN_INPUTS = [
    (["width=huge"], "unknown width 'huge'; choose one of: base, narrow, wide"),
    (["data=foo"], "unknown data 'foo'; choose one of: fashion_mnist, mnist, mnist5k, random"),
    (["dropout=max"], "unknown dropout 'max'"),
    (["latent=tiny"], "unknown latent 'tiny'"),
    (["optimizer@model.d_optimizer=adagrad"], "unknown optimizer 'adagrad'"),
    (["trainer=tpu"], "unknown trainer 'tpu'"),
    (["model.dropout=1.5"], "model.dropout=1.5 must be a number in [0, 1)"),
    (["model.dropout=1.0"], "model.dropout=1.0 must be a number in [0, 1)"),
    (["model.dropout=-0.1"], "model.dropout=-0.1 must be a number in [0, 1)"),
    (["model.width=0"], "model.width=0 must be a positive integer"),
    (["model.d_width=-2"], "model.d_width=-2 must be a positive integer"),
    (["model.latent_dim=0"], "model.latent_dim=0 must be a positive integer"),
    (["model.latent_dim=abc"], "model.latent_dim='abc' must be a positive integer"),
    (["model.dropot=0.2"], "Could not override 'model.dropot'"),
    (["data=fashion_mnist", "data.source.root={tmp}/empty"], "fashion_mnist files not found"),
    (["data=fashion_mnist", "data.source.root={tmp}/corrupt"], "is truncated"),
    (
        ["data=mnist", "data.source.root={tmp}/m", "data.source.mirrors=[http://127.0.0.1:9]"],
        "cannot download mnist",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_TRAIN_INPUTS)
def test_bad_train_input_gives_one_line_and_exit_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    (workdir / "empty").mkdir()
    corrupt_fashion(workdir / "corrupt")
    before = tree_digest(workdir / "outputs" / "runs" / "earlier")
    args = [a.replace("{tmp}", str(workdir)) for a in args]
    code = run_main(train, ["trainer=fast", "logger=csv", *args], monkeypatch)
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err_lines) == 1, err_lines
    assert err_lines[0].startswith("dcgan-train: error: ")
    assert message in err_lines[0]
    assert tree_digest(workdir / "outputs" / "runs" / "earlier") == before
    assert not list(workdir.glob("outputs/runs/*/*/checkpoints"))  # nothing trained


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ckpt_path={tmp}/nope.ckpt"], "checkpoint {tmp}/nope.ckpt not found"),
        (["ckpt_path={tmp}/bad.ckpt"], "cannot load checkpoint"),
        ([], "ckpt_path is required: add ckpt_path=... to the command"),
        (["ckpt_path={tmp}/good.ckpt", "n=0"], "n=0 must be a positive integer"),
    ],
)
def test_bad_sample_input_gives_one_line_and_exit_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    (workdir / "bad.ckpt").write_bytes(b"this is not a checkpoint")
    save_checkpoint(workdir / "good.ckpt")
    args = [a.replace("{tmp}", str(workdir)) for a in args]
    code = run_main(sample, args, monkeypatch)
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err_lines) == 1, err_lines
    assert err_lines[0].startswith("dcgan-sample: error: ")
    assert message.replace("{tmp}", str(workdir)) in err_lines[0]


def test_console_script_exit_code_and_single_line_in_a_real_process(tmp_path: Path) -> None:
    result = run_cli(["dcgan-train", "width=huge"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dcgan-train: error: unknown width 'huge'; choose one of: base, narrow, wide"
    ]
