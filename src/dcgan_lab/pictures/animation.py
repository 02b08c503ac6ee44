"""The training-progress animation: the fixed-noise grid of every epoch, one frame each.

Written as a GIF (PIL through imageio, always) and an MP4 where imageio's ffmpeg plugin is
installed (``pip install imageio-ffmpeg``; the ``video`` extra). Each frame is labelled
with its epoch.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw

from dcgan_lab.errors import UserError
from dcgan_lab.runs.run_dir import epoch_grids

FRAME_MS = 400  # each epoch on screen for 0.4 s
LAST_FRAME_MS = 2000  # the final grid stays longer
MACRO_BLOCK = 16  # video encoders want sides divisible by 16


def labelled_frame(path: Path, epoch: int) -> np.ndarray:
    """An RGB (H + 16, W, 3) uint8 frame: a strip naming the epoch above the grid."""
    with Image.open(path) as grid:
        picture = grid.convert("RGB")
    frame = Image.new("RGB", (picture.width, picture.height + 16), "black")
    frame.paste(picture, (0, 16))
    ImageDraw.Draw(frame).text((4, 2), f"epoch {epoch}", fill="white")
    return np.asarray(frame)


def padded(frame: np.ndarray) -> np.ndarray:
    """Pad (H, W, 3) to sides divisible by 16 (black), so the encoder does not rescale."""
    h, w = frame.shape[:2]
    pad_h, pad_w = -h % MACRO_BLOCK, -w % MACRO_BLOCK
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)))


def write_animation(samples_dir: Path, out_stem: Path | None = None) -> list[Path]:
    """``progress.gif`` (and ``progress.mp4`` with ffmpeg) from a run's epoch grids; the
    paths written. UserError when there is no grid."""
    grids = epoch_grids(samples_dir)
    if not grids:
        raise UserError(f"no epoch_NNN.png sample grids in {samples_dir}: nothing to animate")
    frames = np.stack([labelled_frame(path, epoch) for epoch, path in grids])  # (T, H, W, 3)
    stem = out_stem or samples_dir / "progress"
    stem.parent.mkdir(parents=True, exist_ok=True)
    # PIL takes a list of durations for several frames, a number for one
    durations: list[int] | int = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    if len(frames) == 1:
        durations = LAST_FRAME_MS
    gif = stem.with_suffix(".gif")
    iio.imwrite(gif, frames, extension=".gif", duration=durations, loop=0)
    written = [gif]
    try:
        import imageio_ffmpeg  # noqa: F401 (the MP4 writer's backend)
    except ImportError:
        return written
    mp4 = stem.with_suffix(".mp4")
    iio.imwrite(mp4, np.stack([padded(f) for f in frames]), extension=".mp4", fps=1000 / FRAME_MS)
    return [*written, mp4]
