"""Each run records how it ended in ``<run dir>/status.json``; sweeps go on past failures."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning_fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from dcgan_lab.errors import TrainingDiverged, first_line, user_error_in
from dcgan_lab.runs.run_dir import RunDir


def is_rank_zero() -> bool:
    """False in the extra processes Lightning's DDP starts (rank from the environment)."""
    return getattr(rank_zero_only, "rank", 0) == 0


def write_status(run_dir: Path, status: str, **details: object) -> None:
    if is_rank_zero():  # DDP: the other processes run the same job
        RunDir(run_dir).write_status(status, **details)


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_recorded(
    cfg: DictConfig, train: Callable[[DictConfig, Callable[[], None]], dict[str, float]]
) -> float | None:
    """Run ``train(cfg, on_start)``; record 'completed', 'diverged', 'interrupted' or 'failed'.

    In a multirun a failed job prints one line (its train.log has the traceback) and returns
    None, which Optuna's sweeper records as a failed trial (a NaN made it raise while telling
    the study) so the other jobs run; a single run re-raises. A resume that
    is rejected before training starts leaves the earlier run's status as it was.
    """
    run_dir = Path(cfg.paths.output_dir)
    earlier_run = RunDir(run_dir).status.exists()
    started = False

    def on_start() -> None:
        nonlocal started
        started = True
        write_status(run_dir, "running")
        record_resume_overrides(run_dir)

    def record(status: str, **details: object) -> None:
        if started or not earlier_run:
            write_status(run_dir, status, **details)

    try:
        metrics = train(cfg, on_start)
    except KeyboardInterrupt as err:  # the whole command stops, sweeps included
        record("interrupted", error=str(err) or "interrupted")
        raise
    except Exception as err:
        cause = user_error_in(err)
        message = str(cause or first_line(err))
        status = "diverged" if isinstance(cause, TrainingDiverged) else "failed"
        record(status, error=message)
        if not in_multirun():
            raise
        # The traceback is in the job's train.log (runs/run_log.py).
        print(f"dcgan-train: job {run_dir} {status}: {message}", file=sys.stderr)
        return None
    # A non-finite loss or weight raises TrainingDiverged during training (see above), so a
    # run that returns has completed.
    metric_name = cfg.get("optimized_metric")
    metric = metrics.get(metric_name) if metric_name else None
    write_status(run_dir, "completed", **({metric_name: metric} if metric_name else {}))
    return metric


def record_resume_overrides(run_dir: Path) -> None:
    """A resume runs with ``hydra.output_subdir=null`` (a rejected resume must not rewrite
    the run's .hydra/); once it starts, its merged overrides become the run's overrides."""
    if not HydraConfig.initialized() or HydraConfig.get().output_subdir is not None:
        return
    if not is_rank_zero():
        return
    overrides = list(HydraConfig.get().overrides.task)
    RunDir(run_dir).write_overrides(OmegaConf.to_yaml(overrides))
