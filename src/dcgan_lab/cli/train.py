"""Training entry point: ``dcgan-train [group=option ...] [key=value ...]``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.loggers import Logger
from pytorch_lightning.trainer.states import TrainerStatus

from dcgan_lab.cli.common import config_dir, exit_on_user_error, fail, run_with_clear_errors
from dcgan_lab.cli.config_checks import check_run_config
from dcgan_lab.data.datamodule import ImageDataModule
from dcgan_lab.errors import TrainingInterrupted, UserError
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.runs import lock, sweep_outcome
from dcgan_lab.runs.checkpoints import read_checkpoint
from dcgan_lab.runs.interrupt import CheckpointOnInterrupt
from dcgan_lab.runs.renamed_keys import modernise
from dcgan_lab.runs.resume import resume_arguments
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.runs.run_log import RunLog, log, run_log, say
from dcgan_lab.runs.status import is_rank_zero, run_recorded
from dcgan_lab.runs.time_budget import budget_timer
from dcgan_lab.training.precision import native_bf16_cpu, precision_notice
from dcgan_lab.training.progress import batches_done
from dcgan_lab.training.scoring import ScoreSamples
from dcgan_lab.training.stop import StopAtIteration


def instantiate_each(nodes: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` node of a group such as ``callbacks`` or ``logger``."""
    if not nodes:
        return []
    return [hydra.utils.instantiate(node) for node in nodes.values() if node and "_target_" in node]


def train(cfg: DictConfig, on_start: Callable[[], None] = lambda: None) -> dict[str, float]:
    """datamodule -> module -> callbacks -> loggers -> trainer -> fit; returns final metrics.

    Everything that can reject the input runs first; ``on_start`` is called, and the run
    dir written to (config.yaml, train.log), only once training is about to start.
    """
    with run_log() as lines:
        try:
            return _train(cfg, on_start, lines)
        finally:
            lock.release(Path(cfg.paths.output_dir))


def _train(cfg: DictConfig, on_start: Callable[[], None], lines: RunLog) -> dict[str, float]:
    check_run_config(cfg)
    if is_rank_zero():  # one process trains a run folder at a time (a resume twice: refused)
        lock.acquire(Path(cfg.paths.output_dir))
    if cfg.get("threads"):
        torch.set_num_threads(cfg.threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")  # load now: missing or corrupt data fails before anything starts
    follow_data(cfg, datamodule)
    data_record = {"name": datamodule.name, "digest": datamodule.loaded().digest,
                   "splits": datamodule.loaded().describe()}  # fmt: skip
    if cfg.get("ckpt_path"):
        require_same_data(RunDir(Path(cfg.paths.output_dir)), data_record)
    model = hydra.utils.instantiate(cfg.model)
    if cfg.get("ckpt_path"):  # missing, corrupt or of another architecture: one line
        # The module's own loading checks (older layouts upgraded, then the architecture).
        model.on_load_checkpoint(read_checkpoint(cfg.ckpt_path))
    callbacks = instantiate_each(cfg.get("callbacks"))
    loggers: list[Logger] = instantiate_each(cfg.get("logger"))
    # After the callbacks' and loggers' checks: the scorer measures the real images (and
    # trains its feature extractor on first use), seconds to minutes a bad setting need not wait
    quality = build_quality(cfg.get("metrics"), datamodule)
    if quality is not None:
        callbacks.append(ScoreSamples(quality))
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False
    )
    if trainer.is_global_zero:  # DDP: every process runs this function
        run = RunDir(Path(cfg.paths.output_dir))
        run.write_config(OmegaConf.to_yaml(cfg, resolve=True))
        run.write_data_record(data_record)
        lines.start(run.log)
        overrides = " ".join(command_line_overrides()) or "none"
        log.info(
            "run %s, overrides: %s, torch threads: %d", run.root, overrides, torch.get_num_threads()
        )
    notice = precision_notice(cfg.trainer, native_bf16_cpu())
    if notice:
        say(notice)
    on_start()
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    except SystemExit:  # Lightning exits after handling Ctrl-C / SIGTERM (callbacks ran)
        if trainer.state.status != TrainerStatus.INTERRUPTED:
            raise
        raise TrainingInterrupted(interrupted_message(trainer, callbacks)) from None
    final = {name: float(value) for name, value in trainer.callback_metrics.items()}
    log.info("run ended: %s at step %d", trainer.state.status.value, trainer.global_step)
    if stopped_by_time(trainer):
        say(
            f"stopped at the time budget trainer.max_time={cfg.trainer.max_time} after "
            f"{run_length(trainer, callbacks)} (trainer.max_time=null trains them all; a resume "
            "needs a larger budget)"
        )
    return final


def run_length(trainer: pl.Trainer, callbacks: list[Any]) -> str:
    """How far the run got, in its own units: iterations for a recipe that counts them
    (``StopAtIteration``, experiment=keras), else epochs."""
    stop = next((c for c in callbacks if isinstance(c, StopAtIteration)), None)
    if stop is not None:
        return f"{batches_done(trainer)} of {stop.iterations} iterations"
    return f"{trainer.current_epoch} of {trainer.max_epochs} epochs"


def stopped_by_time(trainer: pl.Trainer) -> bool:
    """True when Lightning's Timer (``trainer.max_time``) ended the run before its epochs."""
    timer = budget_timer(trainer)
    remaining = timer.time_remaining() if timer is not None else None
    return (
        remaining is not None
        and remaining <= 0
        and trainer.current_epoch < (trainer.max_epochs or 0)
    )


def command_line_overrides() -> list[str]:
    """The run's overrides as Hydra received them ([] outside a Hydra app, e.g. in tests)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def interrupted_message(trainer: pl.Trainer, callbacks: list[Any]) -> str:
    where = f"training interrupted at step {trainer.global_step} (epoch {trainer.current_epoch})"
    saved = next((c.saved for c in callbacks if isinstance(c, CheckpointOnInterrupt)), None)
    if saved is None:
        return f"{where}; resume from the last periodic checkpoint with: dcgan-train ckpt_path=last"
    return f"{where}; saved {saved}; resume with: dcgan-train ckpt_path={saved}"


def build_quality(metrics_cfg: DictConfig | None, datamodule: Any) -> SampleQuality | None:
    """FID/KID/IS scorer for the run (extractor trained on first use), or None if disabled
    (``metrics=none``, also when a preset such as debug=fast set a key of the node)."""
    if not metrics_cfg or "_target_" not in metrics_cfg:
        return None
    quality, info = hydra.utils.instantiate(metrics_cfg)(datamodule)
    if info is not None:
        say(f"FID features: {info.id} ({info.describe()})")
    return quality


def require_same_data(run: RunDir, now: dict[str, str]) -> None:
    """A resume in the run's own folder trains on the data it started on (``data.json``);
    a new run may start from any checkpoint."""
    then = run.read_data_record()
    if then is None or then.get("digest") == now["digest"]:
        return
    raise UserError(
        f"the data changed since this run started ({then.get('name')}: {then.get('splits')} "
        f"then, {now['name']}: {now['splits']} now, different images); resume on the data it "
        "trained on, or start a new run from its checkpoint in another folder "
        "(hydra.run.dir=...)"
    )


def follow_data(cfg: DictConfig, datamodule: ImageDataModule) -> None:
    """Write the data's shape and class count into ``cfg.data`` where the config left them
    unset, so the networks (which interpolate ``${data.*}``) and config.yaml follow them."""
    with open_dict(cfg.data):
        cfg.data.channels = datamodule.channels
        cfg.data.image_size = datamodule.image_size
        cfg.data.num_classes = datamodule.num_classes
    if not datamodule.num_classes and (cfg.model.get("loss") or {}).get("ac_weight"):
        raise UserError(
            f"loss=acgan classifies the data's labels, and {datamodule.name} has none (an "
            "image folder gets them from one subfolder per class): use loss=bce"
        )


@hydra.main(config_path=config_dir(), config_name="train", version_base="1.3")
@exit_on_user_error("dcgan-train")
def hydra_main(cfg: DictConfig) -> float | None:
    return run_recorded(cfg, train)


def main() -> None:
    arguments, notes = modernise(sys.argv[1:])
    for note in notes:
        print(f"dcgan-train: note: {note}", file=sys.stderr)
    try:
        sys.argv[1:] = resume_arguments(arguments)
    except UserError as err:
        fail("dcgan-train", str(err))
    run_with_clear_errors(hydra_main, "dcgan-train")
    outcome = sweep_outcome.last
    if outcome is not None and outcome.failed:
        fail("dcgan-train", outcome.summary(), code=1)


if __name__ == "__main__":
    main()
