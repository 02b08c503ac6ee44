"""dcgan-eval on images from any generator (samples=), its pictures and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from dcgan_lab.cli import evaluate
from dcgan_lab.data.image_files import read_images
from dcgan_lab.data.sources import RandomImages
from tests.cli.test_errors import run_main, save_checkpoint, the_one_error_line
from tests.conftest import bomb_png, run_cli

FAST = [
    "data=random",
    "metrics.extractor_steps=30",
    "metrics.n_fake=64",
    "metrics.kid_subset_size=32",
]


def training_discs(n: int = 100) -> np.ndarray:
    """uint8 (n, 28, 28): data=random's own training images, which any copy check must catch."""
    return RandomImages(n_train=256, n_val=64).load().train_images[:n, 0].numpy()  # (n, 1, H, W)


def test_an_npz_and_a_png_folder_of_the_same_images_read_alike(tmp_path: Path) -> None:
    images = training_discs(12)
    np.savez(tmp_path / "theirs.npz", images=images)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    from_npz, from_pngs = read_images(tmp_path / "theirs.npz", 1, 28), read_images(folder, 1, 28)
    assert from_npz.shape == (12, 1, 28, 28) and torch.equal(from_npz, from_pngs)
    assert from_npz.min() == -1 and from_npz.max() == 1


@pytest.mark.parametrize(
    ("form", "convert"),
    [
        ("uint8", lambda x: x),
        ("int64", lambda x: x.astype(np.int64)),
        ("floats in [0, 1]", lambda x: x.astype(np.float32) / 255),
        ("floats in [-1, 1]", lambda x: x.astype(np.float64) / 127.5 - 1),
        ("floats in [0, 255]", lambda x: x.astype(np.float32)),
    ],
)
def test_every_documented_pixel_form_reads_as_the_same_images(tmp_path: Path, form, convert):
    images = training_discs(12)
    np.savez(tmp_path / "theirs.npz", images=convert(images))
    expected = read_images(_saved(tmp_path / "uint8.npz", images), 1, 28)
    assert torch.allclose(read_images(tmp_path / "theirs.npz", 1, 28), expected, atol=1 / 127.5)


def test_sixteen_bit_pngs_read_as_their_eight_bit_twins(tmp_path: Path) -> None:
    grey = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    for name, pixels in (("eight", grey), ("sixteen", grey.astype(np.uint16) * 257)):
        (tmp_path / name).mkdir()
        Image.fromarray(pixels).save(tmp_path / name / "0.png")
        Image.fromarray(pixels).save(tmp_path / name / "1.png")
    assert torch.equal(
        read_images(tmp_path / "sixteen", 1, 28), read_images(tmp_path / "eight", 1, 28)
    )


def _saved(path: Path, images: np.ndarray) -> Path:
    np.savez(path, images=images)
    return path


def test_samples_from_any_generator_are_scored_with_the_protocol(tmp_path: Path) -> None:
    np.savez(tmp_path / "theirs.npz", images=training_discs())
    out = tmp_path / "out" / "eval.json"
    result = run_cli(["dcgan-eval", f"samples={tmp_path / 'theirs.npz'}", *FAST, f"out={out}",
                      f"paths.cache_dir={tmp_path / 'cache'}"], cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "precision" in result.stdout and "copy_rate" in result.stdout  # the table
    (row,) = json.loads(out.read_text())
    # training images handed in as "generated": the memorisation check calls them copies
    assert row["copy_rate"] == 1.0 and row["copy_rate_pixels"] == 1.0
    assert row["protocol"] | {"extractor": "x"} == {
        "n_real": 64, "n_fake": 100, "real_split": row["protocol"]["real_split"],
        "train_reference": "the training split (memorisation)", "generator": "samples file",
        "bn_sampling": None, "truncation": None, "seed": 1234, "draws": 1, "extractor": "x",
        "extractor_acc": row["protocol"]["extractor_acc"],
    }  # fmt: skip
    assert row["protocol"]["extractor"].startswith("classifier-random-")
    assert Path(row["classes_png"]).name == "theirs_classes.png"  # the class bar chart
    assert len(row["class_histogram"]) == 2 and sum(row["class_histogram"]) == pytest.approx(1)
    copies = Path(row["copies_png"])
    assert copies.name == "theirs_copies.png" and Image.open(copies).size[0] > 0


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    discs = training_discs(10)
    np.savez(tmp_path / "good.npz", images=discs)
    np.savez(tmp_path / "two.npz", a=discs, b=discs)
    np.savez(tmp_path / "small.npz", images=discs[:, :20, :20])
    np.savez(tmp_path / "one.npz", images=discs[:1])
    np.savez(tmp_path / "wide.npz", images=discs.astype(np.float32) * 2)
    np.savez(tmp_path / "text.npz", images=np.full((10, 28, 28), "a"))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "empty").mkdir()
    (tmp_path / "victim.txt").write_text("keep me")
    floats = discs.astype(np.float32) / 255
    for name, value in (("nan", np.nan), ("inf", np.inf), ("negative", -2.0)):
        spoiled = floats.copy()
        spoiled[3, 5, 5] = value  # one bad pixel
        np.savez(tmp_path / f"{name}.npz", images=spoiled)
    np.savez(tmp_path / "int_wide.npz", images=discs.astype(np.int32) * 3)
    np.savez(tmp_path / "bools.npz", images=discs > 0)
    (tmp_path / "bomb").mkdir()
    (tmp_path / "bomb" / "big.png").write_bytes(bomb_png())
    for name, target in (("tampered_open", "builtins.open"),
                         ("tampered_reach", "dcgan_lab.runs.resume.os.truncate")):  # fmt: skip
        run = tmp_path / name
        (run / "checkpoints").mkdir(parents=True)
        save_checkpoint(run / "checkpoints" / "last.ckpt")
        data = {"_target_": "dcgan_lab.data.ImageDataModule", "name": "random",
                "source": {"_target_": target, "file": str(tmp_path / "victim.txt"), "mode": "w",
                           "path": str(tmp_path / "victim.txt"), "length": 0}}  # fmt: skip
        OmegaConf.save({"data": data}, run / "config.yaml")
    return tmp_path


BAD_EVAL_INPUTS = [
    ([], "give ckpt_path=<run dir or .ckpt> to score checkpoints, samples="),
    (["ckpt_path={tmp}", "samples={tmp}/good.npz"], "(from dcgan-export): one of them"),
    (["samples={tmp}/good.npz"], "samples= needs the dataset to score against: add data=mnist5k"),
    (["samples={tmp}/missing.npz", "data=random"], "samples={tmp}/missing.npz not found"),
    (["samples={tmp}/broken.npz", "data=random"], "cannot read {tmp}/broken.npz as an .npz"),
    (["samples={tmp}/two.npz", "data=random"], "holds a, b: name the images 'images'"),
    (["samples={tmp}/small.npz", "data=random"], "images of shape (10, 20, 20), but the dataset"),
    (["samples={tmp}/one.npz", "data=random"], "with N >= 2"),
    (["samples={tmp}/wide.npz", "data=random"], "float pixel values in [0, 510]: give floats"),
    (["samples={tmp}/text.npz", "data=random"], "pixel values must be numbers, not <U1"),
    (["samples={tmp}/nan.npz", "data=random"], "holds NaN or infinite pixel values"),
    (["samples={tmp}/inf.npz", "data=random"], "holds NaN or infinite pixel values"),
    (["samples={tmp}/negative.npz", "data=random"], "float pixel values in [-2, 1]: give"),
    (["samples={tmp}/int_wide.npz", "data=random"], "pixel values must be in 0..255 (uint8)"),
    (["samples={tmp}/bools.npz", "data=random"], "pixel values must be numbers, not bool"),
    (["samples={tmp}/bomb", "data=random"], "pixels (a decompression bomb?); resize it"),
    (["samples={tmp}/empty", "data=random"], "no PNG or JPEG images in {tmp}/empty"),
    (["samples={tmp}/good.npz", "data=random", "copies=-1"], "copies=-1: rows of the copies"),
    (["samples={tmp}/good.npz", "data=random", "copies=x"], "copies='x': rows of the copies"),
    (["samples={tmp}/good.npz", "data=random", "copies=100"], "copies=100: rows of the copies"),
    (["samples={tmp}/good.npz", "data=random", "cas=5"], "cas=5: generated images for the Class"),
    (["samples={tmp}/good.npz", "data=random", "cas=-1"], "cas=-1: generated images for the"),
    (["samples={tmp}/good.npz", "data=random", "cas=many"], "cas='many': generated images"),
    (["samples={tmp}/good.npz", "data=random", "cas=true"], "cas=True: generated images"),
    (["samples={tmp}/good.npz", "data=random", "draws=0"], "draws=0 must be an integer >= 1"),
    (["samples={tmp}/good.npz", "data=random", "draws=-2"], "draws=-2 must be an integer >= 1"),
    (["samples={tmp}/good.npz", "data=random", "draws=1.5"], "draws=1.5 must be an integer >= 1"),
    (["samples={tmp}/good.npz", "data=random", "draws=many"], "draws='many' must be an integer"),
    (["samples={tmp}/good.npz", "data=random", "draws=true"], "draws=True must be an integer"),
    (["samples={tmp}/good.npz", "data=random", "draws=3"], "a samples file is one fixed draw"),
    (["samples={tmp}/good.npz", "data=random", "latent_scales=[0]"], "latent_scales=[0]: give"),
    (["samples={tmp}/good.npz", "data=random", "truncation=0"], "truncation=0: give a threshold"),
    (["samples={tmp}/good.npz", "data=random", "truncation=0.7"], "a samples file is already"),
    (["samples={tmp}/good.npz", "data=random", "latent_scales=1.0"], "latent_scales=1.0: give"),
    (["samples={tmp}/good.npz", "data=random", "latent_scales=[]"], "latent_scales=[]: give"),
    (["samples={tmp}/good.npz", "data=random", "latent_scales=[a]"], "latent_scales=['a']: give"),
    (["samples={tmp}/good.npz", "data=random", "metrics.fid_infinity=2"], "fid_infinity=2: use"),
    # output paths, refused before any scoring
    (["samples={tmp}/good.npz", "data=random", "out={tmp}/empty"], "out={tmp}/empty is a folder"),
    (["samples={tmp}/good.npz", "data=random", "out={tmp}/good.npz/e.json"], "is not a folder"),
    # a run folder whose config.yaml was edited to call something
    (["ckpt_path={tmp}/tampered_open"], "config.yaml names builtins.open to build"),
    (["ckpt_path={tmp}/tampered_reach"], "names dcgan_lab.runs.resume.os.truncate to build"),
]


@pytest.mark.parametrize(("args", "message"), BAD_EVAL_INPUTS)
def test_bad_eval_input_gives_one_line_and_exit_2(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    args = [a.replace("{tmp}", str(in_tmp)) for a in args]
    code = run_main(evaluate, [*args, f"paths.cache_dir={in_tmp / 'cache'}"], monkeypatch)
    the_one_error_line(code, capsys, "dcgan-eval", message.replace("{tmp}", str(in_tmp)))
    assert (in_tmp / "victim.txt").read_text() == "keep me"
    assert not (in_tmp / "outputs").exists()  # no empty output folder left behind
    assert not (in_tmp / "cache").exists()  # refused before any extractor was trained
