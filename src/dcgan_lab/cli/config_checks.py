"""Checks of run settings that nothing else validates before training starts.

Model, data and metric values are checked by the classes that take them; these are the
plain keys Lightning or torch would only reject later, with a traceback.
"""

from __future__ import annotations

import hydra
import torch
from omegaconf import DictConfig

from dcgan_lab.errors import UserError
from dcgan_lab.models.checks import require_int


def check_optimizer(key: str, node: DictConfig | None) -> None:
    """Build the optimizer on a dummy parameter: torch's own checks name the bad value."""
    if node is None:
        return
    lr = node.get("lr")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or lr <= 0:
        raise UserError(f"{key}.lr={lr!r} must be a positive number (e.g. {key}.lr=2e-4)")
    try:
        hydra.utils.instantiate(node)([torch.nn.Parameter(torch.zeros(1))])
    except Exception as err:
        cause = err.__cause__ or err  # instantiate wraps the constructor's error
        raise UserError(f"{key}: {cause} (see conf/optimizer/ for working values)") from None


def check_run_config(cfg: DictConfig) -> None:
    require_int("seed", cfg.get("seed"), 0, "42")
    require_int("checkpoint_every_n_steps", cfg.get("checkpoint_every_n_steps", 0), 0, "200")
    trainer = cfg.get("trainer") or {}
    require_int("trainer.max_epochs", trainer.get("max_epochs", 1), -1, "30")
    require_int("trainer.max_steps", trainer.get("max_steps", -1), -1, "2000")
    for side in ("g_optimizer", "d_optimizer"):
        check_optimizer(f"model.{side}", cfg.model.get(side))
