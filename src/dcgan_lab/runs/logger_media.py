"""Pictures a run hands to its loggers: each epoch's sample grid and the final animation.

The grid callback does not know which loggers are configured; a logger that shows
pictures implements ``MediaLogger`` and receives each file with the batch step its
scalars are logged at.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class MediaLogger(Protocol):
    def log_sample_grid(self, path: Path, step: int) -> None: ...

    def log_animation(self, path: Path, step: int) -> None: ...


def hand_sample_grid(loggers: Iterable[Any], path: Path, step: int) -> None:
    for logger in loggers:
        if isinstance(logger, MediaLogger):
            logger.log_sample_grid(path, step)


def hand_animation(loggers: Iterable[Any], path: Path, step: int) -> None:
    for logger in loggers:
        if isinstance(logger, MediaLogger):
            logger.log_animation(path, step)
