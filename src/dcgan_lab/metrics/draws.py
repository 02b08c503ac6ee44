"""One generator's scores over several independent draws of its images.

A score of ``n_fake`` generated images moves with the noise they are drawn from: at the
default 1,000 images against mnist5k's 500 held-out digits, one checkpoint's FID spans about
10 points across draws and precision and recall about 0.05 (``docs/metrics.md``). Each draw
uses its own fixed noise (seed, seed + 1, ...), so the mean and standard deviation say how far
a single score can be trusted, and draw 0 is the plain, one-draw score.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import torch
from tqdm import tqdm

from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models.checks import require_int

COUNTS = ("n_fake", "n_real")  # the same in every draw: no spread to report


def require_draws(draws: object) -> int:
    """``draws=``: how many independent draws to score, at least 1."""
    require_int("draws", draws, 1, 5)
    assert isinstance(draws, int)
    return draws


def score_draws(
    quality: SampleQuality,
    generate: Callable[..., torch.Tensor],
    latent_dim: int,
    device: torch.device,
    num_classes: int,
    draws: int,
) -> dict[str, Any]:
    """Each score's mean over ``draws`` draws of ``quality.n_fake`` images, its sample
    standard deviation as ``<score>_sd`` and every draw's scores (``per_draw``); one draw: the
    plain score. ``quality.details`` (class histogram, copies) stay those of draw 0."""
    per_draw = []
    details: dict[str, Any] = {}
    for i in tqdm(range(draws), desc="draws", unit="draw", disable=None if draws > 1 else True):
        seed = quality.seed + i  # draw 0: the protocol's own noise
        per_draw.append(quality.score(generate, latent_dim, device, num_classes, seed=seed))
        if i == 0:
            details = quality.details
    quality.details = details
    if draws == 1:
        return per_draw[0]
    summary: dict[str, Any] = {}
    for key in per_draw[0]:
        values = [draw[key] for draw in per_draw]
        summary[key] = statistics.fmean(values)
        if key not in COUNTS:  # NaN scores (no IS without class logits) stay NaN
            finite = all(map(math.isfinite, values))
            summary[f"{key}_sd"] = statistics.stdev(values) if finite else math.nan
    return summary | {"per_draw": per_draw}
