"""Precision, recall, density and coverage of generated features against real ones.

- Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the
  union of balls around its points, of radius the distance to the k-th nearest neighbour
  (k=3). Precision: the share of fakes inside the real manifold; recall: the share of reals
  inside the fake manifold.
- Density and coverage (Naeem et al. 2020, k=5): density counts how many real balls hold
  each fake (mean over fakes, over k; 1 for a fake set distributed like the real one);
  coverage is the share of real points whose ball holds at least one fake.

Distances are computed in row blocks, so 10,000 x 10,000 features need one block of
``block`` x 10,000 distances at a time, never the whole matrix.
"""

from __future__ import annotations

import torch

BLOCK = 1024  # rows of the distance matrix held at once: BLOCK x N floats
K_PRECISION_RECALL, K_DENSITY_COVERAGE = 3, 5
# The fewest points of either set the scores are defined for: a k-th nearest neighbour
# needs k others.
MIN_POINTS = K_DENSITY_COVERAGE + 1


def kth_neighbour_radii(points: torch.Tensor, k: int, block: int = BLOCK) -> torch.Tensor:
    """(N,) distance from each of ``points`` (N, F) to its k-th nearest other point."""
    if len(points) <= k:
        raise ValueError(f"{len(points)} points have no {k}-th nearest neighbour")
    radii = [
        # the k+1 smallest include the point itself (distance 0) as the first
        torch.cdist(rows, points).topk(k + 1, dim=1, largest=False).values[:, k]
        for rows in points.split(block)
    ]
    return torch.cat(radii)


def precision_recall_density_coverage(
    real: torch.Tensor,
    fake: torch.Tensor,
    k_precision_recall: int = K_PRECISION_RECALL,
    k_density_coverage: int = K_DENSITY_COVERAGE,
    block: int = BLOCK,
) -> dict[str, float]:
    """The four scores of ``fake`` (M, F) against ``real`` (N, F), in float64."""
    real, fake = real.double(), fake.double()
    real_pr = kth_neighbour_radii(real, k_precision_recall, block)  # (N,)
    fake_pr = kth_neighbour_radii(fake, k_precision_recall, block)  # (M,)
    real_dc = kth_neighbour_radii(real, k_density_coverage, block)  # (N,)
    in_real = torch.zeros(len(fake), dtype=torch.bool)  # fake j inside some real ball (k=3)
    balls_holding = torch.zeros(len(fake), dtype=torch.float64)  # real balls (k=5) holding j
    real_reached = torch.zeros(len(real), dtype=torch.bool)  # real i inside some fake ball
    nearest_fake = torch.full((len(real),), torch.inf, dtype=torch.float64)  # (N,)
    start = 0
    for rows in fake.split(block):
        distances = torch.cdist(rows, real)  # (b, N)
        stop = start + len(rows)
        in_real[start:stop] = (distances <= real_pr).any(1)
        balls_holding[start:stop] = (distances <= real_dc).sum(1).double()
        real_reached |= (distances <= fake_pr[start:stop, None]).any(0)
        nearest_fake = torch.minimum(nearest_fake, distances.min(0).values)
        start = stop
    return {
        "precision": float(in_real.double().mean()),
        "recall": float(real_reached.double().mean()),
        "density": float(balls_holding.mean() / k_density_coverage),
        "coverage": float((nearest_fake <= real_dc).double().mean()),
    }
