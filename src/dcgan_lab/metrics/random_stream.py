"""Seeded draws for measurement that leave the training run's random streams as they were."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def own_cpu_stream(seed: int) -> Iterator[None]:
    """Inside the block, the CPU's global generator starts from ``seed``; after it, the
    caller's CPU stream goes on where it was. For work in the middle of a run that must draw
    the same each time (KID's subsets, an extractor trained on first use) without moving the
    run's own draws. The CPU's generator alone: ``torch.manual_seed`` would also reseed each
    GPU's generator, which no fork here restores, so every call would rewind the run's noise
    and dropout masks on a GPU."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield
