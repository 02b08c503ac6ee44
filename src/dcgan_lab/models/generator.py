"""The Keras-reference DCGAN generator: latent vector -> image in [-1, 1]."""

from __future__ import annotations

import torch
from torch import nn

from dcgan_lab.models.checks import require_image_size, require_positive_int
from dcgan_lab.models.upsample_conv import NearestUpsampleConv2d


class Generator(nn.Module):
    """Dense -> BN -> LeakyReLU -> reshape -> (upsample, conv5x5) x 2 -> tanh.

    ``width`` is the channel count of the last hidden conv; the dense layer feeds
    ``2 * width`` channels at a quarter of the image side. At the reference settings
    (latent_dim=100, width=64, 28x28x1) it has 852,609 parameters. ``fused_upsample``
    computes each upsample + conv pair as one conv at the low resolution (same function,
    about a third of the multiply-adds; see ``upsample_conv``); the parameter names stay
    the same either way, so checkpoints load into both.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        width: int = 64,
        channels: int = 1,
        image_size: int = 28,
        fused_upsample: bool = False,
    ) -> None:
        super().__init__()
        self.latent_dim = require_positive_int("model.latent_dim", latent_dim)
        require_positive_int("model.g_width", width)
        require_positive_int("data.channels", channels)
        side = require_image_size(image_size) // 4
        self.base_shape = (2 * width, side, side)
        base_features = 2 * width * side * side
        self.project = nn.Sequential(
            nn.Linear(latent_dim, base_features),
            nn.BatchNorm1d(base_features),
            nn.LeakyReLU(0.2),
        )
        self.upsample = nn.Sequential(
            *upsample_conv(2 * width, width, fused_upsample),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            *upsample_conv(width, channels, fused_upsample),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # z: (B, latent_dim) -> (B, 2w * s * s) -> (B, 2w, s, s) -> (B, C, 4s, 4s)
        x = self.project(z)
        x = x.view(z.shape[0], *self.base_shape)
        return self.upsample(x)


def upsample_conv(in_channels: int, out_channels: int, fused: bool) -> tuple[nn.Module, nn.Module]:
    """Nearest 2x upsampling then a 5x5 'same' conv: (B, I, H, W) -> (B, O, 2H, 2W).

    Two modules either way (the fused form keeps an Identity in the upsampler's place), so
    the conv's parameter names do not depend on ``fused``.
    """
    if fused:
        return nn.Identity(), NearestUpsampleConv2d(in_channels, out_channels)
    return (
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(in_channels, out_channels, kernel_size=5, padding=2),
    )
