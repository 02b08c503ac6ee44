"""``<run>/train.log``: the run's own story (what it loaded, each epoch's scores, how it ended).

Lines logged before the run folder exists (the feature extractor, the W&B mode) wait in
memory and go to the file once training starts, so input rejected early writes nothing.
Lightning's own lines (why ``fit`` stopped, the devices) go to the file too.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from dcgan_lab.errors import user_error_in

log = logging.getLogger("dcgan_lab")
log.propagate = False  # train.log is its place; the console gets what say() prints
# Lightning's loggers do not propagate to the root logger; the file handler joins them.
# py.warnings: Python warnings raised during the run (deprecations in libraries and the
# like) go to train.log instead of between the progress bar and the error line.
SOURCES = ("dcgan_lab", "pytorch_lightning", "lightning_fabric", "py.warnings")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def say(message: str) -> None:
    """Print ``message`` for the user and keep it in the run's train.log."""
    print(message)
    log.info(message)


class RunLog:
    """Holds the run's log lines in memory until ``start(path)`` names their file."""

    def __init__(self) -> None:
        # flushLevel above CRITICAL: nothing is written before start() gives a target.
        self.memory = logging.handlers.MemoryHandler(10_000, logging.CRITICAL + 1)
        self.file: logging.FileHandler | None = None

    def start(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = logging.FileHandler(path, encoding="utf-8")  # appends: a resume adds on
        self.file.setFormatter(logging.Formatter(FORMAT))
        self.memory.setTarget(self.file)
        self.memory.flush()
        for name in SOURCES:  # from here on, straight to the file
            logging.getLogger(name).removeHandler(self.memory)
            logging.getLogger(name).addHandler(self.file)

    def close(self) -> None:
        for name in SOURCES:
            for handler in (self.memory, self.file):
                if handler is not None:
                    logging.getLogger(name).removeHandler(handler)
        self.memory.setTarget(None)
        self.memory.close()  # unstarted: the held lines are dropped
        if self.file is not None:
            self.file.close()


@contextmanager
def run_log() -> Iterator[RunLog]:
    """Collect the run's log lines; an error that ends the run is its last line."""
    keeper = RunLog()
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    for name in SOURCES:
        logging.getLogger(name).addHandler(keeper.memory)
    logging.getLogger("py.warnings").propagate = False
    logging.captureWarnings(True)
    try:
        yield keeper
    except BaseException as err:
        # Bad input or a divergence: its one line. Anything else: the traceback too.
        expected = user_error_in(err) is not None or isinstance(err, KeyboardInterrupt)
        lines = str(user_error_in(err) or err).splitlines()
        log.error(
            "run ended: %s: %s", type(err).__name__, lines[0] if lines else "",
            exc_info=None if expected else err,
        )  # fmt: skip
        raise
    finally:
        logging.captureWarnings(False)
        keeper.close()


class EpochLines(pl.Callback):
    """One train.log line per epoch: its step and every value logged so far (the latest
    of each), e.g. ``epoch 3 (step 2250): train/d_loss 0.4512, val/fid 62.13, ...``."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if not trainer.is_global_zero:
            return
        values = ", ".join(
            f"{name} {float(value):.4g}" for name, value in sorted(trainer.callback_metrics.items())
        )
        log.info("epoch %d (step %d): %s", trainer.current_epoch, trainer.global_step, values)
