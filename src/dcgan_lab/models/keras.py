"""The Keras-blog MNIST DCGAN's networks (upsample + 5x5 conv G, two strided convs in D).

Parameter names are those of the project's first networks, so older checkpoints load.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dcgan_lab.models.base import Discriminator, Generator
from dcgan_lab.models.checks import require_fraction, require_image_side, require_positive_int
from dcgan_lab.models.conventions import INIT, batch_norm, require_conventions, strided_conv
from dcgan_lab.models.dropout import UniformMaskDropout
from dcgan_lab.models.label_norm import run_block
from dcgan_lab.models.upsample_conv import NearestUpsampleConv2d


class KerasGenerator(Generator):
    """Dense -> BN -> LeakyReLU -> reshape -> (upsample, conv5x5) x 2 -> tanh.

    ``activation_before_norm`` orders the dense block Dense -> LeakyReLU -> BN, as the Keras
    code writes it (``Dense(..., activation=LeakyReLU(0.2))`` then ``BatchNormalization()``);
    the conv block keeps conv -> BN -> LeakyReLU. ``conventions``: initialisation, BatchNorm
    settings and padding, ``dcgan`` or ``keras`` (``models/conventions.py``).

    ``width`` is the channel count of the last hidden conv; the dense layer feeds
    ``2 * width`` channels at a quarter of the image side. ``fused_upsample`` computes each
    upsample + conv pair as one conv at the low resolution (same function, about a third of
    the multiply-adds; see ``upsample_conv``) with the same parameter names.

    Under the ``dcgan`` conventions a layer that feeds a BatchNorm has no bias, as in
    pytorch/examples: BatchNorm subtracts the batch mean, so the bias's exact gradient is 0,
    and under bf16 autocast its rounding noise is all Adam sees, which walks it away
    (``benchmarks/bf16_drift.py``). The ``keras`` conventions keep the Keras code's biases.
    At latent_dim=100, width=64, 28x28x1 it has 846,273 parameters (``keras`` with
    ``activation_before_norm``, the Keras recipe's: 852,609). Checkpoints written with those
    biases load with each folded into its BatchNorm's running mean (``folded_biases``).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        width: int = 64,
        channels: int = 1,
        image_size: int = 28,
        fused_upsample: bool = False,
        activation_before_norm: bool = False,
        conventions: str = "dcgan",
        **conditioning: Any,
    ) -> None:
        super().__init__(
            latent_dim, channels, image_size, width=width, fused_upsample=fused_upsample,
            activation_before_norm=activation_before_norm, conventions=conventions,
            **conditioning,
        )  # fmt: skip
        require_positive_int("width", width)
        require_conventions(conventions)
        # Two stride-2 stages halve the side twice, so the side must be divisible by 4.
        side = require_image_side(image_size, 4, 28) // 4
        self.base_shape = (2 * width, side, side)
        base_features = 2 * width * side * side
        keras = conventions == "keras"
        norm_act = [
            batch_norm(base_features, conventions, spatial=False),
            *self.label_affine(base_features),
            nn.LeakyReLU(0.2),
        ]
        project_bias = keras or activation_before_norm  # the bias meets BN only if not
        self.project = nn.Sequential(
            nn.Linear(self.input_dim, base_features, bias=project_bias),
            *(reversed(norm_act) if activation_before_norm else norm_act),
        )
        self.upsample = nn.Sequential(
            *upsample_conv(2 * width, width, fused_upsample, bias=keras),
            batch_norm(width, conventions),
            *self.label_affine(width),
            nn.LeakyReLU(0.2),
            *upsample_conv(width, channels, fused_upsample),
            nn.Tanh(),
        )
        self.apply(INIT[conventions])

    def synthesize(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        # x: (B, input_dim) -> (B, 2w * s * s) -> (B, 2w, s, s) -> (B, C, 4s, 4s)
        base = run_block(self.project, x, labels).view(x.shape[0], *self.base_shape)
        return run_block(self.upsample, base, labels)


class KerasDiscriminator(Discriminator):
    """(conv5x5 stride 2 -> LeakyReLU -> Dropout) x 2 -> flatten -> linear logit.

    At width=64, dropout=0.3, 28x28x1 it has 212,865 parameters. ``conventions``: as the
    generator's; ``keras`` pads the strided convs as TensorFlow's 'same' does.
    """

    def __init__(
        self,
        width: int = 64,
        dropout: float = 0.3,
        channels: int = 1,
        image_size: int = 28,
        conventions: str = "dcgan",
        **conditioning: Any,
    ) -> None:
        super().__init__(
            channels, image_size, width=width, dropout=dropout, conventions=conventions,
            **conditioning,
        )  # fmt: skip
        require_positive_int("width", width)
        require_conventions(conventions)
        p = require_fraction("dropout", dropout)
        side = require_image_side(image_size, 4, 28) // 4
        self.features = nn.Sequential(
            strided_conv(channels, width, 5, 2, conventions),
            nn.LeakyReLU(0.2),
            UniformMaskDropout(p),
            strided_conv(width, 2 * width, 5, 2, conventions),
            nn.LeakyReLU(0.2),
            UniformMaskDropout(p),
        )
        self.add_heads(2 * width, side * side)
        self.finish(INIT[conventions])

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)  # (B, C, H, W) -> (B, 2w, H/4, W/4)


def upsample_conv(
    in_channels: int, out_channels: int, fused: bool, bias: bool = True
) -> tuple[nn.Module, nn.Module]:
    """Nearest 2x upsampling then a 5x5 'same' conv: (B, I, H, W) -> (B, O, 2H, 2W).

    Two modules either way (the fused form keeps an Identity in the upsampler's place), so
    the conv's parameter names do not depend on ``fused``.
    """
    if fused:
        return nn.Identity(), NearestUpsampleConv2d(in_channels, out_channels, bias)
    return (
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(in_channels, out_channels, kernel_size=5, padding=2, bias=bias),
    )
