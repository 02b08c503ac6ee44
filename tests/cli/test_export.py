"""dcgan-export: the file gives the checkpoint's own samples through the format's own
reader (onnxruntime, torch.jit.load), carries its metadata, and dcgan-eval scores it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import hydra
import onnxruntime
import pytest
import torch
from hydra import compose, initialize_config_dir

from dcgan_lab.cli import evaluate, export
from dcgan_lab.cli.common import config_dir
from dcgan_lab.cli.evaluate import scorer_for
from dcgan_lab.training.loading import load_module
from tests.cli.test_errors import save_checkpoint, the_one_error_line


def run_main(entry: ModuleType, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The console script in-process: its exit code (0 when it returns)."""
    monkeypatch.setattr(sys, "argv", [entry.__name__, *args])
    try:
        entry.main()
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


@pytest.fixture
def checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    save_checkpoint(tmp_path / "plain.ckpt")
    save_checkpoint(tmp_path / "cond.ckpt", num_classes=10)
    return tmp_path


def read_back(path: Path, noise: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The file's images through the format's own reader, no dcgan-lab code involved."""
    if path.suffix == ".onnx":
        session = onnxruntime.InferenceSession(str(path))
        feed = {"noise": noise.numpy()} | ({"labels": labels.numpy()} if labels is not None else {})
        return torch.from_numpy(session.run(None, feed)[0])
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        return loaded(noise) if labels is None else loaded(noise, labels)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", ["plain", "cond"])
def test_the_file_gives_the_checkpoints_own_samples(
    checkpoints: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, name: str
) -> None:
    ckpt = checkpoints / f"{name}.ckpt"
    out = checkpoints / f"{name}.{'onnx' if fmt == 'onnx' else 'pt'}"
    assert run_main(export, [f"ckpt_path={ckpt}", f"format={fmt}", f"out={out}"], monkeypatch) == 0
    module = load_module(ckpt).eval()
    noise = torch.randn(37, module.latent_dim)  # another batch size than the export's
    labels = torch.arange(37) % 10 if module.num_classes else None
    expected = module.sample(noise, labels) * 0.5 + 0.5  # (37, 1, 28, 28) in [0, 1]
    got = read_back(out, noise, labels)
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= 1e-4


def test_the_metadata_names_what_the_file_needs(checkpoints: Path, monkeypatch) -> None:
    out = checkpoints / "cond.onnx"
    run_main(export, [f"ckpt_path={checkpoints / 'cond.ckpt'}", f"out={out}"], monkeypatch)
    props = onnxruntime.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    meta = {key: json.loads(value) for key, value in props.items()}
    assert meta["latent_dim"] == 8 and meta["num_classes"] == 10
    assert meta["image_shape"] == [1, 28, 28] and meta["bn_sampling"] == "standing"
    assert meta["output"] == "[0, 1] float32"
    extra = {"dcgan.json": ""}
    pt = checkpoints / "cond.pt"
    run_main(export, [f"ckpt_path={checkpoints / 'cond.ckpt'}", "format=torchscript", f"out={pt}"],
             monkeypatch)  # fmt: skip
    torch.jit.load(str(pt), _extra_files=extra)
    assert json.loads(extra["dcgan.json"]) == meta


def test_dcgan_eval_scores_an_exported_generator_as_its_checkpoint(
    checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = checkpoints / "plain.onnx"
    run_main(export, [f"ckpt_path={checkpoints / 'plain.ckpt'}", f"out={out}"], monkeypatch)
    quick = ["data=random", "metrics.extractor_steps=30", "metrics.n_fake=64", "copies=0"]
    args = [f"generator={out}", *quick, f"out={checkpoints / 'e.json'}"]
    assert run_main(evaluate, args, monkeypatch) == 0
    (row,) = json.loads((checkpoints / "e.json").read_text())
    # The checkpoint itself, through the same scorer (the same noise and protocol)
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("eval", overrides=quick)
    quality, _, _ = scorer_for(hydra.utils.instantiate(cfg.data), cfg.metrics, {})
    module = load_module(checkpoints / "plain.ckpt").eval()
    direct = quality.score(module.sample, module.latent_dim, torch.device("cpu"))
    assert row["fid"] == pytest.approx(direct["fid"], rel=1e-3)
    assert row["generator"] == "file (raw)" and row["bn_sampling"] == "standing"
    # draws=2: the second draw is the checkpoint's on the next noise seed
    assert run_main(evaluate, [*args, "draws=2"], monkeypatch) == 0
    (row,) = json.loads((checkpoints / "e.json").read_text())
    second = quality.score(module.sample, module.latent_dim, torch.device("cpu"), seed=1235)
    assert row["per_draw"][1]["fid"] == pytest.approx(second["fid"], rel=1e-3)
    assert row["per_draw"][0]["fid"] == pytest.approx(direct["fid"], rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ckpt_path={tmp}/plain.ckpt", "format=tflite"], "format='tflite': choose one of onnx"),
        (["ckpt_path={tmp}/plain.ckpt", "out={tmp}/g.txt"], "format=onnx files end in .onnx"),
        (["ckpt_path={tmp}/plain.ckpt", "bn_sampling=batch"], "bn_sampling=batch makes each"),
        (["ckpt_path={tmp}/nope.ckpt"], "ckpt_path={tmp}/nope.ckpt does not exist"),
        ([], "ckpt_path is required: add ckpt_path=... to the command"),
        (["ckpt_path={tmp}/plain.ckpt", "checkpoint=mid"], "checkpoint='mid': choose one of"),
        (["ckpt_path={tmp}/plain.ckpt", "out={tmp}"], "is a folder; give a file path"),
    ],
)
def test_bad_export_input_gives_one_line_and_exit_2(
    checkpoints: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    filled = [a.replace("{tmp}", str(checkpoints)) for a in args]
    code = run_main(export, filled, monkeypatch)
    the_one_error_line(code, capsys, "dcgan-export", message.replace("{tmp}", str(checkpoints)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generator={tmp}/none.onnx", "data=random"], "generator={tmp}/none.onnx does not exist"),
        (["generator={tmp}/plain.onnx"], "needs the dataset to score against: add data=mnist5k"),
        (["generator={tmp}/bad.onnx", "data=random"], "cannot read generator"),
        (["generator={tmp}/bad.pt", "data=random"], "cannot read generator"),
        (["generator={tmp}/plain.onnx", "data=random", "data.image_size=32"], "draws [1, 28, 28]"),
        (["generator={tmp}/plain.onnx", "ckpt_path={tmp}/plain.ckpt"], "one of them"),
    ],
)
def test_bad_generator_files_for_dcgan_eval_give_one_line(
    checkpoints: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    plain = [f"ckpt_path={checkpoints / 'plain.ckpt'}", f"out={checkpoints / 'plain.onnx'}"]
    run_main(export, plain, monkeypatch)
    (checkpoints / "bad.onnx").write_bytes(b"not a model")
    (checkpoints / "bad.pt").write_bytes(b"not a model")
    capsys.readouterr()
    filled = [a.replace("{tmp}", str(checkpoints)) for a in args]
    code = run_main(evaluate, filled, monkeypatch)
    the_one_error_line(code, capsys, "dcgan-eval", message.replace("{tmp}", str(checkpoints)))
