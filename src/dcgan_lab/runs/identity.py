"""A run's name and sweep as the trackers show them, read from Hydra."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


def sweep_dir() -> Path | None:
    """The multirun folder this job belongs to; None for a single run or outside Hydra."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).absolute()


def hydra_identity() -> tuple[str | None, str | None]:
    """(run name, group) from Hydra: the job's overrides, and the sweep it belongs to.

    A multirun's jobs share the group ``sweep-<date>_<time>`` of their sweep directory.
    """
    if not HydraConfig.initialized():
        return None, None
    name = HydraConfig.get().job.override_dirname or None
    sweep = sweep_dir()
    group = "sweep-" + "_".join(sweep.parts[-2:]) if sweep is not None else None
    return name, group


def launch_dir() -> Path:
    """Where the command was started (relative defaults resolve there, also in a sweep's
    worker processes, whose own working folder may differ)."""
    return Path(HydraConfig.get().runtime.cwd) if HydraConfig.initialized() else Path.cwd()
