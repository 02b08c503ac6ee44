"""LightningDataModule over in-memory uint8 tensors, batched by slicing (no per-sample Python)."""

from __future__ import annotations

from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, RandomSampler

from dcgan_lab.data.layout import conform
from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import ArgumentError, UserError
from dcgan_lab.models.checks import require_positive_int


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
    """Serves ``source``'s images; uint8 until on the device, then scaled to [-1, 1] for tanh.

    ``channels``, ``image_size`` and ``num_classes`` follow the data where they are None;
    set, the images are converted (grey <-> RGB) and resized to them, and the labels checked.
    """

    name: str  # names the dataset in messages and caches

    def __init__(
        self,
        source: DatasetSource,
        name: str = "data",
        batch_size: int = 64,
        val_batch_size: int = 256,
        channels: int | None = None,
        image_size: int | None = None,
        num_classes: int | None = None,
        on_device: bool = True,
        batches_per_epoch: int | None = None,
    ) -> None:
        super().__init__()
        require_positive_int("batch_size", batch_size, 8)
        if batch_size == 1:  # BatchNorm normalises over the batch: one image has no spread
            raise ArgumentError(
                "batch_size", "{name}=1: BatchNorm needs at least 2 images a batch (e.g. {name}=8)"
            )
        if batches_per_epoch is not None:
            require_positive_int("batches_per_epoch", batches_per_epoch, 200)
        require_positive_int("val_batch_size", val_batch_size, 256)
        if channels is not None:
            require_positive_int("channels", channels, 1)
        if image_size is not None:
            require_positive_int("image_size", image_size, 28)
        if channels not in (None, 1, 3):
            raise ArgumentError("channels", f"{{name}}={channels}: choose 1 (grey) or 3 (RGB)")
        if num_classes is not None:
            require_positive_int("num_classes", num_classes, 10)
        self.source = source
        self.name = name
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.channels = channels
        self.image_size = image_size
        self.num_classes = num_classes
        # Hold the uint8 data on the training device (GPU), so batches are sliced there
        # with no host-to-device copy per batch. No effect on the CPU.
        self.on_device = on_device
        # None: an epoch is one shuffled pass. A number: each batch is drawn with replacement
        # (the Keras recipe's np.random.randint) and an epoch is that many batches.
        self.batches_per_epoch = batches_per_epoch
        self.splits: ImageSplits | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:  # loaded once; train() loads early to fail fast
            return
        splits = self.source.load()
        _, c, h, w = splits.train_images.shape
        self.channels = self.channels or (3 if c == 4 else c)
        self.image_size = self.image_size or min(h, w)
        if (c, h, w) != (self.channels, self.image_size, self.image_size):
            splits = ImageSplits(
                conform(splits.train_images, self.channels, self.image_size),
                splits.train_labels,
                conform(splits.val_images, self.channels, self.image_size),
                splits.val_labels,
            )
        self.num_classes = check_labels(splits, self.num_classes)
        n_train, n_val = len(splits.train_images), len(splits.val_images)
        if n_train < 2:  # one image cannot make a batch BatchNorm can normalise
            where = f" (the held-out split took {n_val})" if n_val else ""
            raise UserError(
                f"{self.name} has {n_train} training image{'s' * (n_train != 1)}{where}; "
                "training needs at least 2: add images"
                + (" or lower data.source.val_fraction" if n_val else "")
            )
        if n_train < self.batch_size:
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
        pairs = TensorPairs(s.train_images, s.train_labels)
        sampler = None
        if self.batches_per_epoch is not None:
            n = self.batches_per_epoch * self.batch_size
            sampler = RandomSampler(pairs, replacement=True, num_samples=n)
        # drop_last: BatchNorm in G needs equal, >1 sized batches.
        return DataLoader(
            pairs,
            batch_size=self.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
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


def check_labels(splits: ImageSplits, num_classes: int | None) -> int | None:
    """The class count (None: unlabelled); labels outside 0..num_classes-1 are refused."""
    found = splits.num_classes
    if not found:
        return None
    if num_classes is not None and found > num_classes:
        raise UserError(
            f"the data has labels up to {found - 1} but data.num_classes={num_classes}; "
            f"set data.num_classes={found}"
        )
    return num_classes or found


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of the generator's tanh."""
    return images.float().div_(127.5).sub_(1.0)
