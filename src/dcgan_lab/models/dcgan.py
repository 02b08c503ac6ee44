"""The DCGAN paper's all-convolutional networks, as in pytorch/examples ``dcgan/main.py``.

For any side 4 * 2^k (8, 16, 32, 64, ...) and any channel count. At latent_dim=100,
width (ngf = ndf) 64, 3 channels, 64x64: G has 3,576,704 parameters and D 2,765,568, as
there (no biases).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from dcgan_lab.models.base import Discriminator, Generator
from dcgan_lab.models.checks import (
    require_fraction,
    require_positive_int,
    require_power_of_two_times_four,
)
from dcgan_lab.models.conventions import init_dcgan_weights
from dcgan_lab.models.dropout import UniformMaskDropout
from dcgan_lab.models.label_norm import run_block


def n_stages(image_size: int) -> int:
    """Stride-2 stages between 4x4 and the image: 4 for 64x64, 3 for 32x32."""
    return int(math.log2(require_power_of_two_times_four("image_size", image_size) // 4))


class DCGANGenerator(Generator):
    """z as (B, Z, 1, 1) -> ConvT 4x4 to (B, w*2^(k-1), 4, 4) -> k x [BN, ReLU, ConvT stride 2]
    halving the channels -> tanh; the last ConvT gives the image's channels."""

    def __init__(
        self,
        latent_dim: int = 100,
        width: int = 64,
        channels: int = 3,
        image_size: int = 64,
        **conditioning: Any,
    ) -> None:
        super().__init__(latent_dim, channels, image_size, width=width, **conditioning)
        require_positive_int("width", width)
        k = n_stages(image_size)
        widths = [width * 2 ** (k - 1 - i) for i in range(k)]  # 64x64: [8w, 4w, 2w, w]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.input_dim, widths[0], 4, 1, 0, bias=False)
        ]
        for c_in, c_out in zip(widths, [*widths[1:], channels], strict=True):
            layers += [nn.BatchNorm2d(c_in), *self.label_affine(c_in), nn.ReLU(True)]
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False))
        layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def synthesize(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        # (B, input_dim) -> (B, input_dim, 1, 1) -> (B, 8w, 4, 4) -> ... -> (B, C, H, W)
        return run_block(self.main, x[:, :, None, None], labels)


class DCGANDiscriminator(Discriminator):
    """k x [Conv 4x4 stride 2 (-> BN, not on the first) -> LeakyReLU(0.2) (-> Dropout)] to
    (B, w*2^(k-1), 4, 4), then a 4x4 'valid' linear map to the logit (the paper's last conv)."""

    def __init__(
        self,
        width: int = 64,
        dropout: float = 0.0,
        channels: int = 3,
        image_size: int = 64,
        **conditioning: Any,
    ) -> None:
        super().__init__(channels, image_size, width=width, dropout=dropout, **conditioning)
        require_positive_int("width", width)
        p = require_fraction("dropout", dropout, 0.0)
        k = n_stages(image_size)
        widths = [width * 2**i for i in range(k)]  # 64x64: [w, 2w, 4w, 8w]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([channels, *widths[:-1]], widths, strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
            if i:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            if p:
                layers.append(UniformMaskDropout(p))
        self.main = nn.Sequential(*layers)
        # The paper's Conv2d(8w, 1, 4) on a 4x4 map is this linear layer on its 8w*16 values.
        self.add_heads(widths[-1], 16, bias=False)
        self.finish(init_dcgan_weights)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images)  # (B, C, H, W) -> (B, 8w, 4, 4)
