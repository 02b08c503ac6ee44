"""LightningDataModule over in-memory uint8 tensors, batched by slicing (no per-sample Python)."""

from __future__ import annotations

from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import UserError


class DatasetSource(Protocol):
    def load(self) -> ImageSplits: ...


class TensorPairs(torch.utils.data.Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Images and labels fetched a whole batch at a time through ``__getitems__``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # One gather per batch: (B, C, H, W) uint8 and (B,) int64, where the data lives.
        index = torch.as_tensor(indices, device=self.images.device)
        return self.images[index], self.labels[index]


def keep_batch(batch: Any) -> Any:
    """Collate function for ``TensorPairs``: ``__getitems__`` already stacked the batch."""
    return batch


class ImageDataModule(pl.LightningDataModule):
    """Serves ``source``'s images; uint8 until on the device, then scaled to [-1, 1] for tanh."""

    name: str  # keys caches derived from the data (the feature extractor)

    def __init__(
        self,
        source: DatasetSource,
        name: str = "data",
        batch_size: int = 64,
        val_batch_size: int = 256,
        channels: int = 1,
        image_size: int = 28,
        on_device: bool = True,
    ) -> None:
        super().__init__()
        if batch_size <= 0 or val_batch_size <= 0:
            raise UserError("data.batch_size and data.val_batch_size must be positive integers")
        self.source = source
        self.name = name
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.channels = channels
        self.image_size = image_size
        # Hold the uint8 data on the training device (GPU), so batches are sliced there
        # with no host-to-device copy per batch. No effect on the CPU.
        self.on_device = on_device
        self.splits: ImageSplits | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:  # loaded once; train() loads early to fail fast
            return
        splits = self.source.load()
        expected = (self.channels, self.image_size, self.image_size)
        if tuple(splits.train_images.shape[1:]) != expected:
            raise UserError(
                f"data has images of shape {tuple(splits.train_images.shape[1:])} but the config "
                f"expects {expected}; set data.channels and data.image_size to match"
            )
        if len(splits.train_images) < self.batch_size:
            raise UserError(
                f"only {len(splits.train_images)} training images for data.batch_size="
                f"{self.batch_size}; lower data.batch_size"
            )
        self.splits = splits

    def loaded(self) -> ImageSplits:
        """The splits, loading them on first use."""
        self.setup()
        return self._loaded()

    def _loaded(self) -> ImageSplits:
        if self.splits is None:
            raise RuntimeError("ImageDataModule.setup() must run before its dataloaders")
        return self.splits

    def _served(self) -> ImageSplits:
        """The splits on the device batches are made on (moved there once)."""
        s = self._loaded()
        trainer = self.trainer
        if not self.on_device or trainer is None:
            return s
        device = trainer.strategy.root_device
        if s.train_images.device != device:
            s = ImageSplits(*(t.to(device) for t in (s.train_images, s.train_labels,
                                                      s.val_images, s.val_labels)))  # fmt: skip
            self.splits = s
        return s

    def train_dataloader(self) -> DataLoader[Any]:
        s = self._served()
        # drop_last: BatchNorm in G needs equal, >1 sized batches.
        return DataLoader(
            TensorPairs(s.train_images, s.train_labels),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            collate_fn=keep_batch,
        )

    def val_dataloader(self) -> DataLoader[Any]:
        s = self._served()
        return DataLoader(
            TensorPairs(s.val_images, s.val_labels),
            batch_size=self.val_batch_size,
            collate_fn=keep_batch,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, labels = batch
        return to_signed_unit(images), labels


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of the generator's tanh."""
    return images.float().div_(127.5).sub_(1.0)
