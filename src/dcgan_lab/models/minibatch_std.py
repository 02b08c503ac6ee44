"""Minibatch standard deviation for D (Karras et al. 2018, "Progressive growing of GANs";
StyleGAN2's D keeps it): D sees how varied the images it is shown are.

The batch is split into groups of ``group`` images; each feature's standard deviation across
a group, averaged over features and positions, becomes one extra feature map of the group's
images. A G that draws the same image again gives groups of low spread that real images do
not have, so D can tell, and G is pushed to spread its images out (recall) without a loss
term of its own. D's logit then depends on the images it is scored with, so its passes are
never joined across batches (``Discriminator.batch_independent``).
"""

from __future__ import annotations

import torch


def group_size(batch: int, group: int) -> int:
    """The largest divisor of ``batch`` not above ``group``: every image is in a whole group
    (a batch of 6 with group 4 is scored in groups of 3; a batch of 1 gets spread 0)."""
    return next(g for g in range(min(group, batch), 0, -1) if batch % g == 0)


def with_minibatch_std(features: torch.Tensor, group: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C + 1, h, w): the features and their group's spread."""
    b, c, h, w = features.shape
    g = group_size(b, group)
    groups = features.reshape(g, b // g, c, h, w)  # image n sits in group n % (b // g)
    spread = (groups.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (b // g, C, h, w)
    per_group = spread.mean(dim=(1, 2, 3))  # (b // g,)
    stat = per_group.repeat(g).view(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([features, stat], dim=1)
