"""Ctrl-C (or a SIGTERM from a scheduler) during training writes a checkpoint to resume from."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities.exceptions import SIGTERMException


class CheckpointOnInterrupt(pl.Callback):
    """On an interrupt, saves ``dirpath/filename.ckpt`` (by default the run's last.ckpt).

    Lightning catches the KeyboardInterrupt, calls ``on_exception`` and then exits; the
    entry point turns that into exit code 130 and ``status: interrupted``. A diverged or
    failing run is not saved here: its state may be bad, the last good checkpoint stays.
    """

    def __init__(self, dirpath: str, filename: str = "last") -> None:
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self.saved: Path | None = None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, KeyboardInterrupt | SIGTERMException):
            return
        if trainer.world_size > 1:
            return  # saving needs every rank in step; the last periodic checkpoint stays
        trainer.save_checkpoint(self.path)
        self.saved = self.path
