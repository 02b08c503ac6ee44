"""Renders the fixed-noise sample grid each epoch and hands it to the configured loggers;
at the end of training, the grids become the run's progress animation."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.models.checks import require_flag
from dcgan_lab.pictures.animation import write_animation
from dcgan_lab.runs.logger_media import hand_animation, hand_sample_grid
from dcgan_lab.runs.run_dir import GRID_PATTERN, grid_name
from dcgan_lab.runs.run_log import say
from dcgan_lab.training.progress import batches_done


class SampleGrid(pl.Callback):
    """Writes ``dirpath/epoch_NNN.png`` from the module's ``fixed_noise`` every N epochs, and
    ``dirpath/progress.gif`` (and ``.mp4`` with imageio-ffmpeg) of them when training ends."""

    def __init__(
        self, dirpath: str, every_n_epochs: int = 1, nrow: int = 8, animate: bool = True
    ) -> None:
        require_flag("animate", animate)  # named callbacks.sample_grid.animate by the entry point
        self.dirpath = Path(dirpath)
        self.every_n_epochs = every_n_epochs
        self.nrow = nrow
        self.animate = animate

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        is_last = epoch + 1 == trainer.max_epochs
        if not trainer.is_global_zero or ((epoch + 1) % self.every_n_epochs and not is_last):
            return
        noise, labels = pl_module.fixed_noise, pl_module.fixed_labels
        images = to_uint8(pl_module.sample(noise, labels))  # type: ignore[operator]
        nrow = getattr(pl_module, "grid_columns", None) or self.nrow  # conditional: a class a row
        path = save_grid(images, self.dirpath / grid_name(epoch), nrow)
        # The step Lightning logged this epoch's scores at: its last batch (Lightning counts
        # batches for logging, not optimizer steps, of which there are two or three a batch).
        step = max(batches_done(trainer) - 1, 0)
        hand_sample_grid(trainer.loggers, path, step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if (
            not self.animate
            or not trainer.is_global_zero
            or not any(self.dirpath.glob(GRID_PATTERN))
        ):
            return
        written = write_animation(self.dirpath)  # resumed runs: every epoch's grid, again
        say(f"training animation: {', '.join(str(p) for p in written)}")
        step = max(batches_done(trainer) - 1, 0)
        hand_animation(trainer.loggers, written[0], step)
