"""The run's wall-time budget (``trainer.max_time``): Lightning's Timer callback, if any."""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer


def budget_timer(trainer: pl.Trainer) -> Timer | None:
    """The Timer Lightning adds for ``trainer.max_time``; None when the run has no budget."""
    return next((c for c in trainer.callbacks if isinstance(c, Timer)), None)  # type: ignore[attr-defined]
