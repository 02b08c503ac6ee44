"""A picture of the most copy-like generated images beside their nearest training images."""

from __future__ import annotations

from pathlib import Path

import torch

from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.metrics.memorisation import pixel_vectors
from dcgan_lab.metrics.quality import SampleQuality


def save_copies(quality: SampleQuality, train: torch.Tensor, path: Path, n: int = 8) -> Path | None:
    """After ``quality.compute()``: a PNG with one row per generated image, the ``n`` with the
    smallest feature-space ratio to the training set, each as (generated | nearest training
    image). ``train`` is the training split (N, C, H, W) in [-1, 1]. None without details."""
    found = quality.details.get("nearest", {}).get("features")
    if not found or n <= 0:
        return None
    ratio, nearest = found["ratio"], found["train_index"]  # (M,), (M,)
    order = ratio.argsort()[:n]
    pixels = quality.details["pixels"][order]  # (n, C*h*w), pooled as the check saw them
    references = pixel_vectors(train[nearest[order]])
    shape = pixel_shape(train)
    pairs = torch.stack(
        [pixels.view(-1, *shape), references.view(-1, *shape)], 1
    )  # (n, 2, C, h, w)
    return save_grid(to_uint8(pairs.flatten(0, 1)), path, nrow=2, scale=3)


def pixel_shape(images: torch.Tensor) -> tuple[int, int, int]:
    """(C, h, w) of ``pixel_vectors`` rows for images like these."""
    pooled = pixel_vectors(images[:1])
    channels = images.shape[1]
    side = int((pooled.shape[1] // channels) ** 0.5)
    return channels, side, side
