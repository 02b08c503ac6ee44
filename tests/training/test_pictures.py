"""Latent interpolation and the training animation: the maths and the files."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lab.errors import UserError
from dcgan_lab.images import save_grid
from dcgan_lab.pictures.animation import FRAME_MS, LAST_FRAME_MS, write_animation
from dcgan_lab.pictures.interpolation import class_sweep_inputs, interpolation_inputs, slerp


def test_slerp_runs_from_start_to_end_along_the_sphere() -> None:
    start, end = torch.randn(5, 16, dtype=torch.float64), torch.randn(5, 16, dtype=torch.float64)
    end = end / end.norm(dim=1, keepdim=True) * start.norm(dim=1, keepdim=True)  # equal norms
    path = slerp(start, end, 7)  # (5, 7, 16)
    assert path.shape == (5, 7, 16)
    assert torch.allclose(path[:, 0], start) and torch.allclose(path[:, -1], end)
    norms = path.norm(dim=2)
    assert torch.allclose(norms, norms[:, :1].expand_as(norms))  # never through the middle
    # the angle to the start grows in equal steps
    angles = torch.nn.functional.cosine_similarity(path, start[:, None], dim=2).clamp(-1, 1).acos()
    assert torch.allclose(angles.diff(dim=1), angles.diff(dim=1)[:, :1].expand(5, 6), atol=1e-9)


def test_slerp_of_parallel_points_is_the_straight_line() -> None:
    start = torch.ones(1, 4)
    path = slerp(start, 3 * start, 3)
    assert torch.allclose(path[0], torch.stack([start[0], 2 * start[0], 3 * start[0]]))


def test_interpolation_and_class_sweep_inputs_are_laid_out_by_row() -> None:
    noise = interpolation_inputs(pairs=3, steps=4, latent_dim=8, seed=0)
    assert noise.shape == (12, 8)
    assert torch.equal(noise, interpolation_inputs(3, 4, 8, seed=0))  # seeded
    sweep, labels = class_sweep_inputs(rows=2, num_classes=10, latent_dim=8, seed=0)
    assert sweep.shape == (20, 8) and labels.tolist() == list(range(10)) * 2
    assert torch.equal(sweep[0], sweep[9]) and not torch.equal(sweep[0], sweep[10])


def grids(folder: Path, epochs: list[int]) -> None:
    for epoch in epochs:
        images = torch.full((4, 1, 8, 8), epoch * 20, dtype=torch.uint8)  # a tile's shade
        save_grid(images, folder / f"epoch_{epoch:03d}.png", nrow=2)


def test_animation_has_a_frame_per_epoch_in_order_and_holds_the_last(tmp_path: Path) -> None:
    grids(tmp_path, [2, 0, 1, 10])
    (tmp_path / "epoch_x.png").write_bytes(b"not a grid of ours")  # ignored
    written = write_animation(tmp_path)
    assert [p.name for p in written] == ["progress.gif", "progress.mp4"]  # dev installs ffmpeg
    frames = iio.imread(written[0], index=None)  # (T, H, W, 3 or 4)
    assert len(frames) == 4
    brightness = [frame[-12:-6, -12:-6, 0].mean() for frame in frames]  # inside the last tile
    assert brightness == sorted(brightness)  # epochs 0, 1, 2, 10
    durations = [iio.immeta(written[0], index=i)["duration"] for i in range(4)]
    assert durations == [FRAME_MS] * 3 + [LAST_FRAME_MS]
    with Image.open(written[1].with_suffix(".gif")) as gif:
        assert getattr(gif, "n_frames", 1) == 4
    assert written[1].stat().st_size > 0
    video = iio.imread(written[1], index=None, extension=".mp4")
    assert len(video) == 4 and video.shape[1] % 16 == 0 and video.shape[2] % 16 == 0


def test_animation_without_grids_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no epoch_NNN\.png sample grids in"):
        write_animation(tmp_path)


def test_grid_values_survive_into_the_gif(tmp_path: Path) -> None:
    grids(tmp_path, [0, 1])
    frames = iio.imread(write_animation(tmp_path)[0], index=None)
    assert np.abs(frames[1][-12:-6, -12:-6, 0].astype(int) - 20).max() <= 2


def test_a_single_epoch_makes_a_one_frame_animation(tmp_path: Path) -> None:
    grids(tmp_path, [0])
    gif, *_ = write_animation(tmp_path)
    assert len(iio.imread(gif, index=None)) == 1
