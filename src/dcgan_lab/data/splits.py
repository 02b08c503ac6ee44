"""The in-memory form every dataset source returns."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from dcgan_lab.data.layout import to_nchw
from dcgan_lab.errors import UserError

UNLABELLED = -1  # the label of every image of a dataset without classes
# More classes than this is a mistake in the labels (a class embedding, the classifier
# behind FID and the per-class grids all grow with the count): refused before they allocate.
MAX_CLASSES = 1000


def checked_labels(labels: np.ndarray, what: str, n_images: int) -> np.ndarray:
    """``labels`` as int64 (N,) if they are one whole number per image, each a class in
    0..MAX_CLASSES-1 or UNLABELLED; else a UserError naming ``what`` and the bad value."""
    array = np.asarray(labels)
    if array.shape != (n_images,):
        raise UserError(f"{what}: {array.shape} labels for {n_images} images; give one per image")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            raise UserError(f"{what}: label {array[bad][0]} is not a whole number")
    elif array.dtype.kind not in "iub":
        raise UserError(f"{what}: labels of type {array.dtype} are not class numbers")
    ints = array.astype(np.int64)
    outside = (ints < UNLABELLED) | (ints >= MAX_CLASSES)
    if outside.any():
        raise UserError(
            f"{what}: label {ints[outside][0]} is outside 0..{MAX_CLASSES - 1} "
            f"(or {UNLABELLED} for unlabelled images)"
        )
    return ints


@dataclass(frozen=True)
class ImageSplits:
    """uint8 images (N, C, H, W) in [0, 255] and int64 labels (N,), for train and held-out.

    Unlabelled data have every label ``UNLABELLED`` (-1).
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor

    @functools.cached_property
    def digest(self) -> str:
        """A hash of both splits' images and labels: different data, a different digest
        (hashed once: the run record and the extractor cache both key on it)."""
        digest = hashlib.sha256()
        for tensor in (self.train_images, self.train_labels, self.val_images, self.val_labels):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()[:12]

    def describe(self) -> str:
        return f"{len(self.train_images):,} training and {len(self.val_images):,} held-out images"

    @property
    def num_classes(self) -> int:
        """Classes in the labels (0: unlabelled)."""
        labels = torch.cat([self.train_labels, self.val_labels])
        return 0 if len(labels) == 0 or int(labels.min()) < 0 else int(labels.max()) + 1

    @classmethod
    def from_numpy(
        cls, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]
    ) -> ImageSplits:
        """Build from (images, labels (N,)) pairs; images (N, H, W), (N, H, W, C) or
        (N, C, H, W) in any of those layouts (see ``layout.to_nchw``)."""
        return cls(
            train_images=torch.from_numpy(to_nchw(train[0], "the training images")),
            train_labels=torch.from_numpy(
                checked_labels(train[1], "the training labels", len(train[0]))
            ),
            val_images=torch.from_numpy(to_nchw(val[0], "the held-out images")),
            val_labels=torch.from_numpy(checked_labels(val[1], "the held-out labels", len(val[0]))),
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
