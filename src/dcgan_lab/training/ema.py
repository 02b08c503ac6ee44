"""An exponential moving average of the generator's weights (torch's AveragedModel)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from dcgan_lab.errors import UserError


def ema_of(generator: nn.Module, decay: float, warmup: int) -> AveragedModel:
    """A frozen copy of ``generator`` that ``update_parameters`` moves towards it.

    The decay ramps linearly from 0 (a plain copy) to ``decay`` over the first ``warmup``
    updates, so the average does not start out dominated by the random initial weights.
    BatchNorm's running statistics are averaged too (``use_buffers``), for eval-mode
    sampling; its step counter is copied.
    """
    if not 0.0 < decay < 1.0:
        raise UserError(f"model.ema_decay={decay} must be in (0, 1), or 0 to turn EMA off")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise UserError(f"model.ema_warmup={warmup!r} must be an integer >= 0")

    def update(
        averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor], n_averaged: Any
    ) -> None:
        step_decay = decay * min(1.0, float(n_averaged) / warmup) if warmup else decay
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(list(averaged), list(current), 1.0 - step_decay)
        else:  # integer buffers (BatchNorm's num_batches_tracked)
            for avg, cur in zip(averaged, current, strict=True):
                avg.copy_(cur)

    ema = AveragedModel(generator, multi_avg_fn=update, use_buffers=True)
    return ema.requires_grad_(False)
