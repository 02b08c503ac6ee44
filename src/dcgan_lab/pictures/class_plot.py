"""A bar chart of the classes the domain classifier sees in generated images."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch

from dcgan_lab.figures import save_figure


def plot_class_histogram(
    histogram: list[float], real_labels: torch.Tensor | None, title: str, path: Path
) -> Path:
    """Bars: the share of generated images per predicted class; dots: the held-out real
    images' share per class (their labels), when the data has labels."""
    classes = range(len(histogram))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(classes, histogram, color="tab:blue", label="generated (classifier's prediction)")
    share: list[float] = []
    if real_labels is not None and len(real_labels):
        counts = torch.bincount(real_labels.long().clamp(min=0), minlength=len(histogram))
        share = (counts[: len(histogram)].double() / counts.sum()).tolist()
        ax.plot(classes, share, "o", color="black", label="held-out real (labels)")
    tallest = max([*histogram, *share])
    ax.set(xlabel="class", ylabel="share of images", xticks=list(classes), title=title,
           ylim=(0, tallest * 1.4))  # headroom: the legend sits above the bars  # fmt: skip
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)
