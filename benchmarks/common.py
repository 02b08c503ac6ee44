"""What the benchmark scripts share: composing a config, timing chosen methods, and timing
a training run's batches after a warm-up (each on the device's clock: CUDA synchronised)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from dcgan_lab.cli.common import config_dir


def compose_config(*overrides: str, name: str = "train") -> DictConfig:
    """``conf/<name>.yaml`` composed with the overrides, as the entry point composes it."""
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(name, overrides=list(overrides))


def sync(device: str | torch.device) -> None:
    """Waits for the device's queued work, so a wall-clock reading covers it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class MethodTimer:
    """Wall seconds spent in chosen methods, summed per label and call-counted; ``wrap``
    patches a method in place until ``restore`` (or the end of ``timing()``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, method: str, label: str) -> None:
        original = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(owner, method, timed)
        self.undo.append(lambda: setattr(owner, method, original))

    def restore(self) -> None:
        for undo in reversed(self.undo):
            undo()
        self.undo.clear()

    @contextmanager
    def timing(self, owner: Any, labels: dict[str, str]) -> Iterator[MethodTimer]:
        """``wrap`` each ``owner.<method>`` under ``labels[method]`` while the block runs."""
        for method, label in labels.items():
            self.wrap(owner, method, label)
        try:
            yield self
        finally:
            self.restore()


class BatchTimer(pl.Callback):
    """Wall seconds of a ``Trainer.fit`` from the start of batch ``warmup`` to the end of
    the last batch, and the batches timed. On a GPU the clock stops at the end of training,
    after one synchronisation (a sync per batch would stall the queue being measured)."""

    def __init__(self, warmup: int, device: str | torch.device = "cpu") -> None:
        self.warmup, self.device = warmup, device
        self.start, self.seconds, self.batches = 0.0, 0.0, 0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.fit_loop.total_batch_idx == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.start:
            self.seconds = time.perf_counter() - self.start
            self.batches = trainer.fit_loop.total_batch_idx + 1 - self.warmup

    def on_train_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.start and torch.device(self.device).type == "cuda":
            sync(self.device)
            self.seconds = time.perf_counter() - self.start
