"""dcgan-sample's writer: chunked .npz output that matches what np.load expects."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lab.cli import sample
from dcgan_lab.images import save_grid
from tests.cli.test_errors import save_checkpoint
from tests.conftest import keras_module


@pytest.mark.parametrize(("num_classes", "label"), [(0, None), (3, "all"), (3, None), (3, 2)])
def test_samples_are_written_a_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, num_classes: int, label
) -> None:
    monkeypatch.setattr(sample, "CHUNK", 7)  # 20 images in 3 chunks
    module = keras_module(width=4, latent_dim=8, num_classes=num_classes).eval()
    npz, png = sample.write_samples(module, 20, 5, tmp_path, label)
    with np.load(npz) as saved:
        images = saved["images"]
        labels = saved["labels"] if num_classes else None
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8 and images.std() > 0
    assert len({images[i].tobytes() for i in range(20)}) == 20  # every chunk its own noise
    if num_classes and label in ("all", None):  # no label: all classes, as label=all
        assert labels is not None and labels.tolist() == sorted(labels.tolist())
        assert np.bincount(labels).tolist() == [7, 7, 6]
    elif num_classes:
        assert labels is not None and set(labels.tolist()) == {2}
    assert png.stat().st_size > 0 and not list(tmp_path.glob(".*partial"))
    assert "sampling" in capsys.readouterr().err  # the progress bar, over several chunks
    # the same seed gives the same images
    again, _ = sample.write_samples(module, 20, 5, tmp_path / "again", label)
    with np.load(again) as saved:
        assert np.array_equal(saved["images"], images)


def test_grid_keeps_a_row_per_class_from_chunks() -> None:
    picks = sample.GridPicks(per_class=2)
    images = torch.arange(6).view(6, 1, 1, 1).to(torch.uint8)
    picks.add(images[:3], torch.tensor([0, 0, 0]))
    picks.add(images[3:], torch.tensor([0, 1, 1]))
    assert picks.grid().flatten().tolist() == [0, 1, 4, 5]


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    def broken_chunks():
        yield np.zeros((2, 4, 4), np.uint8)
        raise RuntimeError("generator failed")

    target = tmp_path / "samples_4.npz"
    with pytest.raises(RuntimeError):
        sample.write_npz_in_chunks(target, (4, 4, 4), broken_chunks(), None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("num_classes", "args", "grids"), [
    (0, ["pairs=3", "steps=5"], {"interpolation_0.png": (3, 5)}),
    (3, ["pairs=2", "steps=4"], {"interpolation_0.png": (2, 4), "class_sweep_0.png": (2, 3)}),
    (3, ["pairs=2", "steps=4", "label=1", "seed=9"],
     {"interpolation_9.png": (2, 4), "class_sweep_9.png": (2, 3)}),
])  # fmt: skip
def test_interpolate_writes_a_walk_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, num_classes: int, args: list[str], grids
) -> None:
    save_checkpoint(tmp_path / "model.ckpt", num_classes=num_classes)
    out = tmp_path / "out"
    run_ok(["mode=interpolate", f"ckpt_path={tmp_path / 'model.ckpt'}", f"out_dir={out}", *args],
           monkeypatch)  # fmt: skip
    assert sorted(p.name for p in out.glob("*.png")) == sorted(grids)
    for name, (rows, cols) in grids.items():
        with Image.open(out / name) as grid:  # 28 px tiles, 2 px padding, scaled 2x
            assert grid.size == ((cols * 30 + 2) * 2, (rows * 30 + 2) * 2)


def test_animate_rebuilds_a_runs_animation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    run = tmp_path / "run"
    for epoch in range(3):
        save_grid(
            torch.zeros(4, 1, 8, 8, dtype=torch.uint8), run / "samples" / f"epoch_{epoch:03d}.png"
        )
    run_ok(["mode=animate", f"run={run}"], monkeypatch)
    assert (run / "samples" / "progress.gif").is_file()
    assert "(3 epochs)" in capsys.readouterr().out


def run_ok(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """dcgan-sample in this process; it returns (no SystemExit) when it succeeds."""
    monkeypatch.setattr(sys, "argv", ["dcgan-sample", *args])
    sample.main()


def classified_share(classifier, out: Path, n: int) -> tuple[float, list[float]]:
    """The share of dcgan-sample's images the run's classifier reads as their label, and
    the share per class."""
    with np.load(out / f"samples_{n}.npz") as saved:
        images = torch.from_numpy(saved["images"]).float().div(127.5).sub(1)[:, None]
        wanted = torch.from_numpy(saved["labels"])
    with torch.no_grad():
        read = classifier.eval()(images).argmax(1)
    per_class = [float((read[wanted == c] == c).float().mean()) for c in wanted.unique()]
    return float((read == wanted).float().mean()), per_class


@pytest.mark.parametrize(("label", "n"), [*((k, 100) for k in range(10)), ("all", 5000)])
def test_samples_are_of_the_requested_class(
    conditional_digits: Path, mnist5k, tmp_path: Path, monkeypatch, label, n: int
) -> None:
    """dcgan-sample label=k (and label=all): the run's classifier reads at least 95% of the
    images as their label; the same images on batch statistics (one class per chunk) fail."""
    classifier = mnist5k[1]
    args = [f"ckpt_path={conditional_digits}", f"n={n}", f"label={label}"]
    run_ok([*args, f"out_dir={tmp_path / 'standing'}"], monkeypatch)
    share, per_class = classified_share(classifier, tmp_path / "standing", n)
    assert share >= 0.95 and min(per_class) >= 0.95, per_class
    if label in (0, "all"):  # what the default did before: normalised by one-class chunks
        run_ok([*args, "bn_sampling=batch", f"out_dir={tmp_path / 'batch'}"], monkeypatch)
        assert classified_share(classifier, tmp_path / "batch", n)[0] < 0.8


def test_truncation_draws_the_same_images_from_noise_inside_the_threshold(
    conditional_digits: Path, mnist5k, tmp_path: Path, monkeypatch, capsys
) -> None:
    """dcgan-sample truncation=0.7: the images are still of their class, differ from the
    untruncated ones, and image i is the same at any n (the noise of each row is mapped on
    its own)."""
    args = [f"ckpt_path={conditional_digits}", "label=all", "truncation=0.7"]
    run_ok([*args, "n=100", f"out_dir={tmp_path / 't100'}"], monkeypatch)
    assert "noise truncated to [-0.7, 0.7]" in capsys.readouterr().out
    run_ok([*args, "n=10", f"out_dir={tmp_path / 't10'}"], monkeypatch)
    run_ok([args[0], "label=all", "n=100", f"out_dir={tmp_path / 'plain'}"], monkeypatch)
    share, _ = classified_share(mnist5k[1], tmp_path / "t100", 100)
    assert share >= 0.95
    with (
        np.load(tmp_path / "t100" / "samples_100.npz") as many,
        np.load(tmp_path / "t10" / "samples_10.npz") as few,
        np.load(tmp_path / "plain" / "samples_100.npz") as plain,
    ):
        assert np.array_equal(many["images"][0], few["images"][0])  # label 0, the same noise
        assert not np.array_equal(many["images"], plain["images"])
