"""The generated images of one scoring pass, kept as features, class logits and pixels.

A torchmetrics ``Metric`` so that under DDP ``compute`` gathers every rank's share: the
scores that need the whole set at once (nearest neighbours, histograms) then see the
union, as FID and KID do.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class GeneratedSet(Metric):
    full_state_update = False
    features: list[torch.Tensor]
    logits: list[torch.Tensor]
    pixels: list[torch.Tensor]

    def __init__(self) -> None:
        super().__init__()
        for name in ("features", "logits", "pixels"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, features: torch.Tensor, logits: torch.Tensor, pixels: torch.Tensor) -> None:
        """features (B, F), logits (B, C) or (B, 0) without a classifier, pixels (B, P)."""
        self.features.append(features.float())
        self.logits.append(logits.float())
        self.pixels.append(pixels.float())

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(features (M, F), logits (M, C), pixels (M, P)) of all M images added, on the
        CPU: the real set's features and pixels that they are scored against live there
        (``SampleQuality.real_features``), whatever device generated them."""
        return (
            dim_zero_cat(self.features).cpu(),
            dim_zero_cat(self.logits).cpu(),
            dim_zero_cat(self.pixels).cpu(),
        )
