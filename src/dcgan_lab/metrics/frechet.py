"""Fréchet distances between feature sets, and FID extrapolated to infinitely many samples.

FID is biased upwards by a term that falls as 1/N in the number of generated images
(Chong & Forsyth 2020), so two generators scored at different N cannot be compared.
FID-infinity fits FID_N = FID_inf + b / N over subsets of the generated set and reports the
intercept: a score that no longer depends on how many images were drawn.
"""

from __future__ import annotations

import torch

INFINITY_POINTS = 15  # subset sizes in the fit, as in the paper
SMALLEST_SHARE = 0.2  # the smallest subset: a fifth of the generated set


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID between two feature sets (N, F) and (M, F): |mu_a - mu_b|^2 + tr(S_a + S_b
    - 2 (S_a S_b)^1/2), the trace of the root from the eigenvalues of S_a S_b."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)  # (F, F)
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
    trace_root = eigenvalues.sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root)


def fid_infinity(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> float:
    """FID of ``fake`` (M, F) against ``real`` (N, F) extrapolated to M -> infinity: FID on
    random subsets of 15 sizes from M/5 to M, a least-squares line in 1/size, its intercept."""
    generator = torch.Generator().manual_seed(seed)
    sizes = torch.linspace(max(2, int(len(fake) * SMALLEST_SHARE)), len(fake), INFINITY_POINTS)
    inverse, fids = [], []
    for size in sizes.long().tolist():
        subset = fake[torch.randperm(len(fake), generator=generator)[:size]]
        inverse.append(1.0 / size)
        fids.append(frechet_distance(subset, real))
    design = torch.stack([torch.ones(len(inverse)), torch.tensor(inverse)], 1).double()  # (15, 2)
    intercept, _slope = torch.linalg.lstsq(design, torch.tensor(fids).double()[:, None]).solution
    return float(intercept)
