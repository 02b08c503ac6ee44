"""Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned
GANs"): on data without labels (or ignoring them), G and D condition on clusters of D's own
features instead, through the conditional machinery labelled data use.

The training images' pooled D features (eval mode) are clustered by k-means every
``every_n_epochs`` epochs, the new clusters matched to the old by the Hungarian method so a
cluster keeps its number (and G's embedding of it). Each real batch is labelled by the
nearest centroid of its images' features, and its fakes get the same labels: a draw from the
clusters' empirical distribution, as the paper samples G's conditions. ``model.conditional=
clusters`` turns it on, ``model.self_conditioning.clusters`` sets k.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn

from dcgan_lab.models.base import Discriminator
from dcgan_lab.models.checks import require_positive_int, settings_node
from dcgan_lab.models.sampling import running_statistics

CLUSTERS = "clusters"  # the model.conditional value that turns self-conditioning on


@dataclass(frozen=True)
class SelfConditioningSettings:
    """The ``model.self_conditioning`` node: k, how often to re-cluster, how many training
    images the clustering sees (a seeded choice)."""

    clusters: int = 10
    every_n_epochs: int = 5
    max_images: int = 5000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def self_conditioning_settings(node: Mapping[str, Any] | None) -> SelfConditioningSettings:
    settings = settings_node("self_conditioning", node, SelfConditioningSettings)
    require_positive_int("self_conditioning.clusters", settings.clusters, 10)
    require_positive_int("self_conditioning.every_n_epochs", settings.every_n_epochs, 5)
    require_positive_int("self_conditioning.max_images", settings.max_images, 5000)
    return settings


def kmeans(points: torch.Tensor, k: int, seed: int, iterations: int = 30) -> torch.Tensor:
    """Centroids (k, F) of ``points`` (N, F) by Lloyd's algorithm from a k-means++ start;
    an emptied cluster restarts at the point farthest from its centroid."""
    generator = torch.Generator().manual_seed(seed)
    first = int(torch.randint(len(points), (1,), generator=generator))
    centroids = points[first : first + 1]
    while len(centroids) < k:  # k-means++: next centroid drawn by squared distance
        nearest = torch.cdist(points, centroids).min(dim=1).values.square()
        weights = nearest if float(nearest.sum()) > 0 else torch.ones_like(nearest)
        pick = int(torch.multinomial(weights, 1, generator=generator))
        centroids = torch.cat([centroids, points[pick : pick + 1]])
    for _ in range(iterations):
        distances = torch.cdist(points, centroids)  # (N, k)
        nearest_index = distances.argmin(dim=1)
        for c in range(k):
            members = points[nearest_index == c]
            if len(members):
                centroids[c] = members.mean(dim=0)
            else:
                centroids[c] = points[int(distances.min(dim=1).values.argmax())]
    return centroids


class ClusterLabels(nn.Module):
    """The centroids (buffers: checkpoints keep them, a resume labels as the run did)."""

    centroids: torch.Tensor  # (k, F) in the space of L2-normalised pooled D features
    ready: torch.Tensor  # () bool: clustered at least once

    def __init__(self, settings: SelfConditioningSettings, feature_dim: int) -> None:
        super().__init__()
        self.settings = settings
        self.register_buffer("centroids", torch.zeros(settings.clusters, feature_dim))
        self.register_buffer("ready", torch.tensor(False))

    @staticmethod
    @torch.no_grad()
    def features(discriminator: Discriminator, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> D's pooled features (B, F), L2-normalised, in eval mode
        (no dropout; BatchNorm on its running statistics)."""
        with running_statistics(discriminator):
            pooled = discriminator.pooled(discriminator.feature_map(images))
        return F.normalize(pooled.float(), dim=1)

    @torch.no_grad()
    def assign(self, discriminator: Discriminator, images: torch.Tensor) -> torch.Tensor:
        """Each image's cluster (B,): its features' nearest centroid."""
        distances = torch.cdist(self.features(discriminator, images), self.centroids)
        return distances.argmin(dim=1)

    @torch.no_grad()
    def recluster(self, discriminator: Discriminator, images: torch.Tensor, seed: int) -> None:
        """k-means on the features of ``images`` (N, C, H, W) in [-1, 1], the new clusters
        numbered as the old ones they overlap most (the Hungarian method on centroid
        distances)."""
        features = torch.cat([self.features(discriminator, x) for x in images.split(500)])
        new = kmeans(features.cpu(), self.settings.clusters, seed).to(self.centroids)
        if bool(self.ready):
            cost = torch.cdist(self.centroids, new).cpu().numpy()  # (old k, new k)
            _, order = linear_sum_assignment(cost)
            new = new[torch.as_tensor(order, device=new.device)]
        self.centroids.copy_(new)
        self.ready.fill_(True)
