"""Top-k training (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance by
Throwing Away Bad Samples"): G's loss is taken over the k fakes D scores highest only, so
G is not pulled towards the worst of its samples late in training. k starts at the whole
batch and shrinks by ``decay`` per epoch down to ``min_fraction`` of it (paper: 0.99 and 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from dcgan_lab.models.checks import require_unit_interval, settings_node


@dataclass(frozen=True)
class TopKSettings:
    """The ``model.topk`` node; ``min_fraction`` 1: off."""

    min_fraction: float = 1.0
    decay: float = 0.99

    def kept(self, logits: torch.Tensor, epoch: int) -> torch.Tensor:
        """The highest of D's logits on fakes (B,) at ``epoch``: max(decay^epoch,
        min_fraction) of them, at least one."""
        if self.min_fraction >= 1.0:
            return logits
        fraction = max(self.decay**epoch, self.min_fraction)
        k = max(1, math.ceil(fraction * logits.numel()))
        return logits if k >= logits.numel() else logits.topk(k).values

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def topk_settings(node: Mapping[str, Any] | None) -> TopKSettings:
    """The node checked (one line naming the key each; the entry point adds ``model.``)."""
    settings = settings_node("topk", node, TopKSettings)
    example = TopKSettings(0.5)
    shares = [
        require_unit_interval(f"topk.{key}", getattr(settings, key), getattr(example, key),
                              zero=False, one=True)
        for key in ("min_fraction", "decay")
    ]  # fmt: skip
    return TopKSettings(*shares)
