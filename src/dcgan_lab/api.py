"""The Python entry points, for notebooks and scripts: ``train``, ``sample`` and ``evaluate``
take the overrides the commands take (``"trainer.max_epochs=5"``) and run the same code,
through Hydra's own job runner (run folder, ``.hydra/`` record, ``train.log``).

Unlike the commands they never exit the interpreter: bad input raises ``UserError`` whose
message is the line the command prints after ``error:``, a diverged run
``TrainingDiverged``; the signal handlers in place before the call are in place after it.
Sweeps (``-m``, ``hparams_search=``) stay with the ``dcgan-train`` command.
"""

from __future__ import annotations

import inspect
import logging
import math
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.callbacks import Callbacks
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import run_job
from hydra.errors import HydraException
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from dcgan_lab.cli import evaluate as evaluate_cli
from dcgan_lab.cli import sample as sample_cli
from dcgan_lab.cli import train as train_cli
from dcgan_lab.cli.common import config_dir, discard_rejected_output, one_line
from dcgan_lab.errors import TrainingDiverged, UserError, user_error_in
from dcgan_lab.runs.checkpoints import CHECKPOINT_CHOICES
from dcgan_lab.runs.renamed_keys import modernise
from dcgan_lab.runs.resume import resume_arguments
from dcgan_lab.runs.status import run_recorded


@dataclass(frozen=True)
class TrainResult:
    """What a training run left: its folder, its best validation FID (None: not scored),
    the checkpoint to sample from (best.ckpt, else last.ckpt) and its final logged scores."""

    run_dir: Path
    best_fid: float | None
    checkpoint: Path | None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleResult:
    """The files ``sample`` wrote (``mode=sample``: the .npz and the grid .png)."""

    files: tuple[Path, ...]


@dataclass(frozen=True)
class EvaluateResult:
    """The rows ``dcgan-eval`` prints (one per checkpoint or samples file), and eval.json."""

    rows: list[dict[str, Any]]
    json: Path


def train(*overrides: str) -> TrainResult:
    """``dcgan-train`` as a function: ``train("trainer.max_epochs=5", "width=wide")``."""
    arguments, notes = modernise(list(overrides))
    for note in notes:  # an old spelling, still accepted: as the command says it
        print(f"dcgan-train: note: {note}", file=sys.stderr)
    arguments = resume_arguments(arguments)
    finals: dict[str, float] = {}
    folders: list[Path] = []

    def task(cfg: DictConfig) -> None:
        def keep(cfg: DictConfig, on_start: Callable[[], None]) -> dict[str, float]:
            finals.update(train_cli.train(cfg, on_start))
            return finals

        folders.append(Path(cfg.paths.output_dir))
        run_recorded(cfg, keep)

    run("train", "dcgan-train", arguments, task)
    run_dir = folders[0]
    best = finals.get("val/fid_best")
    checkpoints = [run_dir / "checkpoints" / f"{name}.ckpt" for name in CHECKPOINT_CHOICES]
    checkpoint = next((path for path in checkpoints if path.is_file()), None)
    best_fid = best if best is not None and math.isfinite(best) else None
    return TrainResult(run_dir, best_fid, checkpoint, finals)


def sample(*overrides: str) -> SampleResult:
    """``dcgan-sample`` as a function: ``sample(f"ckpt_path={run_dir}", "n=64")``."""
    written: list[Path] = []
    body = inspect.unwrap(sample_cli.hydra_main)
    run("sample", "dcgan-sample", list(overrides), lambda cfg: written.extend(body(cfg) or []))
    return SampleResult(tuple(written))


def evaluate(*overrides: str) -> EvaluateResult:
    """``dcgan-eval`` as a function: ``evaluate(f"ckpt_path={run_dir}")``."""
    rows: list[dict[str, Any]] = []
    written: list[Path] = []
    body = inspect.unwrap(evaluate_cli.hydra_main)

    def task(cfg: DictConfig) -> None:
        written.append(Path(cfg.out))
        rows.extend(body(cfg))

    run("eval", "dcgan-eval", list(overrides), task)
    return EvaluateResult(rows, written[0])


# The job names the commands run under (their modules' names): log files and the folder
# clean-up of a rejected call use them.
JOB_NAMES = {"dcgan-train": "train", "dcgan-sample": "sample", "dcgan-eval": "evaluate"}


def run(
    config_name: str, prog: str, overrides: list[str], task: Callable[[DictConfig], Any]
) -> None:
    """Compose ``config_name`` with ``overrides`` and run ``task`` as Hydra runs a job (its
    output folder, ``.hydra/``, logging). Errors a user can fix become ``UserError`` with
    the command's line."""
    try:
        with (
            keep_signal_handlers(),
            initialize_config_dir(config_dir(), version_base="1.3", job_name=JOB_NAMES[prog]),
        ):
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
            if cfg.hydra.mode == RunMode.MULTIRUN:
                raise UserError(
                    f"sweeps run from the command line: {prog} -m ... (or hparams_search=...)"
                )
            context = HydraContext(
                config_loader=GlobalHydra.instance().config_loader(), callbacks=Callbacks(cfg)
            )
            job = run_job(guarded(task, prog), cfg, "hydra.run.dir", None, context)
            quiet = logging.getLogger("hydra.core.utils")  # its "Error executing job" line
            level, quiet.level = quiet.level, logging.CRITICAL
            try:
                job.return_value  # noqa: B018 (re-raises the task's error, if any)
            finally:
                quiet.setLevel(level)
    except (UserError, HydraException, OmegaConfBaseException) as err:
        found = user_error_in(err)
        line = one_line(err, prog)
        raise (TrainingDiverged if isinstance(found, TrainingDiverged) else UserError)(
            line
        ) from err


def guarded(task: Callable[[DictConfig], Any], prog: str) -> Callable[[DictConfig], Any]:
    """``task``, leaving no empty output folder when it fails, as the commands that write
    into Hydra's folder (``dcgan-sample``, ``dcgan-eval``) leave none."""

    def run_task(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except Exception:
            if prog != "dcgan-train":
                discard_rejected_output()
            raise

    return run_task


@contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """The SIGINT and SIGTERM handlers as they were, whatever the run installed."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None:
                signal.signal(signum, handler)
