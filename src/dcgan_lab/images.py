"""Image conversion and grid PNGs (no torchvision: it does not import beside the CPU wheel)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255], same shape, on the CPU."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) uint8 tile image."""
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    tiles = images.permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[top : top + h, left : left + w] = tile
    return grid


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None, scale: int = 2) -> Path:
    """Write uint8 (N, C, H, W) images as a PNG grid, enlarged ``scale`` times for viewing."""
    grid = make_grid(images, nrow)
    mode = "L" if grid.shape[2] == 1 else "RGB"
    picture = Image.fromarray(grid.squeeze(2) if mode == "L" else grid, mode=mode)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path
