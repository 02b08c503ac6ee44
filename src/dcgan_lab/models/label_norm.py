"""Conditional BatchNorm for G: each class scales and shifts a BatchNorm's output its own way.

With ``model.generator.label_norm=true`` every BatchNorm of a conditional G is followed by a
``LabelAffine``: out = bn(x) * (1 + gain[y]) + shift[y], gain and shift learned per class
and starting at 0, so a new model begins as the plain one. The label then acts at every
stage of G, not only through the embedding concatenated to z (de Vries et al. 2017,
"Modulating early visual processing by language"; BigGAN's class-conditional BatchNorm).
The BatchNorm's statistics stay shared by all classes, so standing and running statistics
work as before.
"""

from __future__ import annotations

import torch
from torch import nn


class LabelAffine(nn.Module):
    """(B, F) or (B, F, H, W) features and labels (B,) -> the same shape, scaled and shifted
    per class."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.gain = nn.Embedding(num_classes, features)
        self.shift = nn.Embedding(num_classes, features)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0], -1) + (1,) * (x.dim() - 2)  # (B, F) or (B, F, 1, 1)
        return x * (1 + self.gain(labels).view(shape)) + self.shift(labels).view(shape)


def run_block(block: nn.Sequential, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """``block(x)``, with the labels handed to its ``LabelAffine`` layers."""
    for layer in block:
        x = layer(x, labels) if isinstance(layer, LabelAffine) else layer(x)
    return x
