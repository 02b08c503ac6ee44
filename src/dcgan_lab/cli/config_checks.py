"""Checks of run settings that nothing else validates before training starts.

Model, data and metric values are checked by the classes that take them; these are the
plain keys Lightning or torch would only reject later, with a traceback.
"""

from __future__ import annotations

import math

import hydra
import torch
from omegaconf import DictConfig

from dcgan_lab.errors import ArgumentError, UserError
from dcgan_lab.models.checks import require_int


def check_optimizer(key: str, node: DictConfig | None) -> None:
    """Build the optimizer on a dummy parameter: torch's own checks name the bad value."""
    if node is None:
        return
    lr = node.get("lr")
    number = not isinstance(lr, bool) and isinstance(lr, int | float)
    if not number or not math.isfinite(lr) or lr <= 0:
        raise UserError(f"{key}.lr={lr!r} must be a finite positive number (e.g. {key}.lr=2e-4)")
    try:
        hydra.utils.instantiate(node)([torch.nn.Parameter(torch.zeros(1))])
    except Exception as err:
        cause = err.__cause__ or err  # instantiate wraps the constructor's error
        if isinstance(cause, ArgumentError):  # this project's optimizers name the argument
            raise cause.at(key) from None
        raise UserError(f"{key}: {cause} (see conf/optimizer/ for working values)") from None


def check_trainer(trainer: DictConfig) -> None:
    """Trainer values that make no run, or that manual optimization cannot honour."""
    require_int("trainer.max_epochs", trainer.get("max_epochs", 1), -1, "30")
    require_int("trainer.max_steps", trainer.get("max_steps", -1), -1, "2000")
    if trainer.get("max_epochs") == 0 or trainer.get("max_steps") == 0:
        key = "max_epochs" if trainer.get("max_epochs") == 0 else "max_steps"
        raise UserError(
            f"trainer.{key}=0 trains nothing: give a positive count, or -1 for no limit"
        )
    check_max_time(trainer.get("max_time"))
    limit = trainer.get("limit_train_batches")
    if limit is not None and not isinstance(limit, bool) and limit == 0:
        raise UserError(
            "trainer.limit_train_batches=0 trains nothing: give a batch count per epoch "
            "(e.g. 50), a fraction (e.g. 0.25), or null for all"
        )
    inert = {"gradient_clip_val": (None, 0), "accumulate_grad_batches": (None, 1)}
    for key, harmless in inert.items():
        value = trainer.get(key)
        if value not in harmless:
            raise UserError(
                f"trainer.{key}={value} does not apply: the GAN steps its own optimizers "
                "(manual optimization), which Lightning's option cannot reach; remove it"
            )
    devices, strategy = trainer.get("devices", 1), str(trainer.get("strategy", "auto"))
    several = isinstance(devices, int) and not isinstance(devices, bool) and devices not in (0, 1)
    if several and "ddp" not in strategy and trainer.get("accelerator") == "cpu":
        raise UserError(
            f"trainer.devices={devices} on the CPU needs a data-parallel strategy: use "
            "trainer=ddp_cpu (2 processes), or trainer.devices=1"
        )


def check_max_time(value: object) -> None:
    """null, or a positive DD:HH:MM:SS duration (Lightning's Timer)."""
    if value is None:
        return
    parts = str(value).split(":")
    fine = isinstance(value, str) and len(parts) == 4 and all(p.isdigit() for p in parts)
    if not fine or not any(int(p) for p in parts):
        raise UserError(
            f"trainer.max_time={value!r} must be a positive duration DD:HH:MM:SS "
            "(e.g. trainer.max_time=00:00:10:00), or null for no time limit"
        )


def check_run_config(cfg: DictConfig) -> None:
    require_int("seed", cfg.get("seed"), 0, "42")
    if cfg.get("threads") is not None:
        require_int("threads", cfg.threads, 1, "1")
    require_int("checkpoint_every_n_steps", cfg.get("checkpoint_every_n_steps", 0), 0, "200")
    check_trainer(cfg.get("trainer") or DictConfig({}))
    for side in ("g_optimizer", "d_optimizer"):
        check_optimizer(f"model.{side}", cfg.model.get(side))
