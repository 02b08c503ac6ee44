"""Stop training after a number of iterations (batches), whatever the epoch length.

``trainer.max_steps`` would do it in optimizer steps, but Lightning then treats training as
step-based and a resume from an epoch-end checkpoint replays an empty epoch that counts
toward ``max_epochs``; this callback keeps epochs as they are.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from dcgan_lab.models.checks import require_positive_int
from dcgan_lab.training.progress import batches_done


class StopAtIteration(pl.Callback):
    """Ends training after batch ``iterations`` (counted over the whole run, resumes
    included); that epoch ends there, with its grid, scores and checkpoint."""

    def __init__(self, iterations: int) -> None:
        self.iterations = require_positive_int("iterations", iterations, 4001)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if batches_done(trainer) >= self.iterations:  # this batch included, resumes too
            trainer.should_stop = True
