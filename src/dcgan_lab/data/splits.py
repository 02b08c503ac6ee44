"""The in-memory form every dataset source returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ImageSplits:
    """uint8 images (N, C, H, W) in [0, 255] and int64 labels (N,), for train and held-out."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor

    @classmethod
    def from_numpy(
        cls, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]
    ) -> ImageSplits:
        """Build from (images (N, H, W) uint8, labels (N,)) pairs; adds the channel axis."""
        return cls(
            train_images=torch.from_numpy(np.ascontiguousarray(train[0])).unsqueeze(1),
            train_labels=torch.from_numpy(train[1].astype(np.int64)),
            val_images=torch.from_numpy(np.ascontiguousarray(val[0])).unsqueeze(1),
            val_labels=torch.from_numpy(val[1].astype(np.int64)),
        )


def holdout_split(
    images: np.ndarray, labels: np.ndarray, val_fraction: float, seed: int
) -> ImageSplits:
    """Shuffle with a fixed seed, then keep the last ``val_fraction`` as the held-out split."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = round(len(images) * val_fraction)
    train_idx, val_idx = order[: len(images) - n_val], order[len(images) - n_val :]
    return ImageSplits.from_numpy(
        (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])
    )
