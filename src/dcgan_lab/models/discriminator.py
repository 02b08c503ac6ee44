"""The Keras-reference DCGAN discriminator: image -> one real/fake logit."""

from __future__ import annotations

import torch
from torch import nn

from dcgan_lab.models.checks import require_dropout, require_image_size, require_positive_int
from dcgan_lab.models.dropout import UniformMaskDropout


class Discriminator(nn.Module):
    """(conv5x5 stride 2 -> LeakyReLU -> Dropout) x 2 -> flatten -> linear logit.

    Returns raw logits, shape (B,): the sigmoid lives in the loss. At the reference
    settings (width=64, dropout=0.3, 28x28x1) it has 212,865 parameters.
    """

    def __init__(
        self, width: int = 64, dropout: float = 0.3, channels: int = 1, image_size: int = 28
    ) -> None:
        super().__init__()
        require_positive_int("model.d_width", width)
        require_positive_int("data.channels", channels)
        p = require_dropout("model.dropout", dropout)
        side = require_image_size(image_size) // 4
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, kernel_size=5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            UniformMaskDropout(p),
            nn.Conv2d(width, 2 * width, kernel_size=5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            UniformMaskDropout(p),
        )
        self.classify = nn.Linear(2 * width * side * side, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # images: (B, C, H, W) -> (B, 2w, H/4, W/4) -> (B, 2w*H*W/16) -> (B,)
        x = self.features(images)
        return self.classify(x.flatten(1)).squeeze(1)


def add_spectral_norm(module: nn.Module) -> None:
    """Constrain a conv or linear layer's largest singular value to ~1 (Miyato et al. 2018).

    Use as ``discriminator.apply(add_spectral_norm)``; one power iteration per training
    forward refines the estimate (torch's parametrization).
    """
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.utils.parametrizations.spectral_norm(module)
