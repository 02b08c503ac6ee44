"""A picture of the most copy-like generated images beside their nearest training images."""

from __future__ import annotations

from pathlib import Path

import torch

from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.metrics.memorisation import pooled_images
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
    references = pooled_images(train[nearest[order]])  # (n, C, h, w)
    pixels = quality.details["pixels"][order]  # (n, C*h*w), pooled as the check saw them
    pairs = torch.stack([pixels.view_as(references), references], 1)  # (n, 2, C, h, w)
    return save_grid(to_uint8(pairs.flatten(0, 1)), path, nrow=2, scale=3)
