"""Writing a matplotlib figure to a PNG: every plot of the project ends the same way."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Lays the figure out, writes it to ``path`` (its folder made if need be) and frees it."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
