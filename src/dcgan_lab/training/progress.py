"""How far a run has trained, through Lightning's public loop attributes only."""

from __future__ import annotations

import math

import pytorch_lightning as pl

from dcgan_lab.runs.time_budget import budget_timer


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


def run_progress(trainer: pl.Trainer) -> float:
    """The share of the run done (0..1): by epochs (or max_steps) or by the time budget
    (``trainer.max_time``), whichever is further; 0 when neither bounds the run."""
    shares = [0.0]
    batches = trainer.num_training_batches
    if trainer.max_epochs and trainer.max_epochs > 0 and math.isfinite(batches) and batches:
        done = trainer.current_epoch * batches + trainer.fit_loop.epoch_loop.batch_idx + 1
        shares.append(done / (trainer.max_epochs * batches))
    if trainer.max_steps > 0:
        shares.append(trainer.global_step / trainer.max_steps)
    timer = budget_timer(trainer)
    if timer is not None:
        elapsed, left = timer.time_elapsed("train"), timer.time_remaining("train")
        if left is not None and elapsed + left > 0:
            shares.append(elapsed / (elapsed + left))
    return min(1.0, max(shares))
