"""Is the generator copying its training images? Nearest-neighbour distances, calibrated.

Held-out real images are the yardstick: they were never trained on, so their distance to
the nearest training image is what "a new image of this domain" looks like. For each
generated image the distance to its nearest training image is divided by the held-out
images' median distance (a ratio near 1: as novel as real data; near 0: a copy), in the
domain classifier's feature space and in pixel space. The copy rate is the share of
generated images nearer to the training set than all but ``COPY_QUANTILE`` of held-out
images are, so images like the held-out ones score about that share and copies score 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dcgan_lab.metrics.manifold import BLOCK

COPY_QUANTILE = 0.05  # a generated image nearer than 95% of held-out images counts as a copy
PIXEL_SIDE = 32  # pixel distances on images average-pooled to at most 32 x 32


def pooled_images(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] -> (N, C, h, w) floats with h, w <= 32 (average-pooled)."""
    if images.shape[-1] > PIXEL_SIDE:
        return F.adaptive_avg_pool2d(images.float(), PIXEL_SIDE)
    return images.float()


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] -> (N, C*h*w), the pooled pixels, for distances."""
    return pooled_images(images).flatten(1)


def nearest(
    queries: torch.Tensor, reference: torch.Tensor, block: int = BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of the nearest ``reference`` row (R, F) to each query row (Q, F)."""
    reference = reference.double()
    found = [torch.cdist(rows, reference).min(1) for rows in queries.double().split(block)]
    return torch.cat([f.values for f in found]), torch.cat([f.indices for f in found])


@dataclass
class TrainingNeighbours:
    """The training set and the held-out yardstick in one space (features or pixels)."""

    train: torch.Tensor  # (N_train, D)
    held_out_distance: torch.Tensor  # (N_held_out,) to the nearest training row

    @classmethod
    def build(cls, train: torch.Tensor, held_out: torch.Tensor) -> TrainingNeighbours:
        train = train.double()
        return cls(train, nearest(held_out, train)[0])

    def scores(self, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """(ratios (M,), nearest training index (M,), {median ratio, copy rate}) of fakes (M, D)."""
        distance, index = nearest(fake, self.train)
        ratio = distance / self.held_out_distance.median().clamp(min=1e-12)
        threshold = torch.quantile(self.held_out_distance, COPY_QUANTILE)
        summary = {
            "memorisation_ratio": float(ratio.median()),
            "copy_rate": float((distance < threshold).double().mean()),
        }
        return ratio, index, summary
