"""Datasets held in memory as uint8 tensors, and the datamodule that batches them."""

from dcgan_lab.data.datamodule import ImageDataModule
from dcgan_lab.data.splits import ImageSplits

__all__ = ["ImageDataModule", "ImageSplits"]
