"""Precision against recall as the sampling noise is scaled: the truncation trade-off.

Scaling z by s < 1 draws from the generator's denser middle (sharper, less varied: higher
precision, lower recall); s > 1 the reverse. One curve shows where a generator sits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch

from dcgan_lab.errors import UserError
from dcgan_lab.figures import save_figure
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models.checks import is_number
from dcgan_lab.models.sampling import Sampler


def check_scales(scales: Any) -> list[float]:
    if scales is None:
        return []
    values = (
        list(scales)
        if isinstance(scales, Sequence | list) and not isinstance(scales, str)
        else None
    )
    if not values or not all(is_number(s) and 0 < s <= 10 for s in values):
        raise UserError(
            f"latent_scales={scales!r}: give a list of noise scales in (0, 10], "
            "e.g. latent_scales=[0.5,0.75,1.0,1.25,1.5]"
        )
    return [float(s) for s in values]


def latent_scale_sweep(
    quality: SampleQuality,
    sample: Sampler,
    latent_dim: int,
    num_classes: int,
    scales: list[float],
) -> list[dict[str, float]]:
    """Scores of the same fixed noise multiplied by each scale."""
    points = []
    for scale in scales:

        def scaled(noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return sample(noise * scale, labels)  # noqa: B023 (called within this iteration)

        scores = quality.score(scaled, latent_dim, torch.device("cpu"), num_classes)
        points.append({"scale": scale, **{k: scores[k] for k in ("precision", "recall", "fid")}})
    return points


def plot_latent_scales(points: list[dict[str, float]], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    recall, precision = [p["recall"] for p in points], [p["precision"] for p in points]
    ax.plot(recall, precision, marker="o")
    for point in points:
        ax.annotate(f"x{point['scale']:g}", (point["recall"], point["precision"]), fontsize=8,
                    xytext=(4, 3), textcoords="offset points")  # fmt: skip
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
    ax.set_title(f"noise scale sweep\n{title}", fontsize=9)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
