"""How far a run has trained, through Lightning's public loop attributes only."""

from __future__ import annotations

import pytorch_lightning as pl


def batches_done(trainer: pl.Trainer) -> int:
    """Batches trained in the whole run so far, resumes included (during a training step,
    those before it). Lightning logs a batch's values at this step on its logging axis."""
    return trainer.fit_loop.epoch_loop.total_batch_idx + 1


def logs_this_step(trainer: pl.Trainer) -> bool:
    """True during the training steps whose logged values Lightning writes: every
    ``log_every_n_steps``-th batch, and the last before a stop."""
    every = int(getattr(trainer, "log_every_n_steps", 50))  # set by the Trainer, undeclared
    if every == 0:
        return False
    return batches_done(trainer) % every == 0 or trainer.should_stop
