"""The conv encoder both feature extractors share: images -> a 128-d code."""

from __future__ import annotations

import torch
from torch import nn


def conv_trunk(channels: int) -> nn.Sequential:
    """(conv3x3 -> BN -> ReLU) x 2 -> pool, twice: (B, C, H, W) -> (B, 32, H/4, W/4)."""

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(
        *block(channels, 16), *block(16, 16), nn.MaxPool2d(2),
        *block(16, 32), *block(32, 32), nn.MaxPool2d(2),
    )  # fmt: skip


class ConvEncoder(nn.Module):
    """``conv_trunk`` then a 128-d linear layer: ``features`` is the FID space.

    The classifier adds class logits on top, the autoencoder a decoder; their weights keep
    the names ``conv.*`` and ``embed.*``, so cached extractors load as before.
    """

    num_features = 128

    def __init__(self, channels: int = 1, image_size: int = 28) -> None:
        super().__init__()
        self.side = image_size // 4
        self.conv = conv_trunk(channels)
        self.embed = nn.Linear(32 * self.side * self.side, self.num_features)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        # images: (B, C, H, W) in [-1, 1] -> (B, 32, H/4, W/4) -> (B, 128)
        return self.embed(self.conv(images).flatten(1))
