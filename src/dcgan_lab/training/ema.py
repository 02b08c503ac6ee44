"""An exponential moving average of the generator's weights (torch's AveragedModel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models.checks import is_number, require_choice, settings_node


class GeneratorEMA(AveragedModel):
    """A frozen copy of a generator that ``update_parameters`` moves towards it.

    The decay ramps linearly from 0 (a plain copy) to ``decay`` over the first ``warmup``
    updates, so the average does not start out dominated by the random initial weights.
    ``span`` (0: off) caps the average's horizon at that fraction of the run's expected
    length in updates, ``updates / progress`` (``progress``: the share of the run done, by
    epochs or by its time budget, whichever is further; unknown: the updates so far), so
    decay <= 1 - progress / (span * updates). A run cut short by a time budget (a slow CPU's
    10 minutes) then averages its last quarter instead of lagging far behind G; a full
    default run keeps ``decay`` (a quarter of its 19,670 G updates is about 1/(1 - 0.9998)).
    BatchNorm's running statistics are averaged too (``use_buffers``), for eval-mode
    sampling; its step counter is copied.

    Same state as ``AveragedModel`` (``n_averaged``, ``module.*``), so checkpoints are
    unchanged; the update is one ``_foreach_lerp_`` per step. AveragedModel's own update
    reads ``n_averaged`` on the host three times a step (a device sync each on a GPU) and
    regroups the tensors by device every call; here the count is mirrored on the host.
    """

    def __init__(self, generator: nn.Module, decay: float, warmup: int, span: float = 0.0) -> None:
        super().__init__(generator, use_buffers=True)
        self.decay, self.warmup, self.span = decay, warmup, span
        self.updates: int | None = None  # host copy of n_averaged; None: read it first
        self.requires_grad_(False)

    def update_parameters(self, model: nn.Module, progress: float = 0.0) -> None:
        if self.updates is None:
            self.updates = int(self.n_averaged)
        decay = self.decay * min(1.0, self.updates / self.warmup) if self.warmup else self.decay
        if self.span:
            expected = max(self.updates, 1) / progress if progress > 0 else max(self.updates, 1)
            decay = min(decay, max(0.0, 1.0 - 1.0 / (self.span * expected)))
        weight = 1.0 - decay if self.updates else 1.0  # 1.0: the first update copies
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]
        with torch.no_grad():
            floats = [
                (a, c) for a, c in zip(averaged, current, strict=True) if a.is_floating_point()
            ]
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)
            for a, c in zip(averaged, current, strict=True):
                if not a.is_floating_point():  # BatchNorm's num_batches_tracked
                    a.copy_(c)
            self.n_averaged += 1
        self.updates += 1

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.updates = None  # a loaded n_averaged replaces the host copy


SCORE_RAW = ("always", "until_ema_leads")


@dataclass(frozen=True)
class EMASettings:
    """The ``model.ema`` node: the generator's moving average and how validation scores it.

    ``decay`` (0: no EMA), ``warmup`` and ``span``: see ``GeneratorEMA``. ``score_raw``:
    which generators each validation scores, ``always`` both, or ``until_ema_leads``: both
    until the EMA scored better several validations in a row, then the EMA alone
    (``training/scoring.py``).
    """

    decay: float = 0.0
    warmup: int = 0
    span: float = 0.0
    score_raw: str = "always"

    def average_of(self, generator: nn.Module) -> GeneratorEMA | None:
        """The generator's moving average, or None with the EMA off."""
        return GeneratorEMA(generator, self.decay, self.warmup, self.span) if self.decay else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ema_settings(node: Mapping[str, Any] | None) -> EMASettings:
    """The ``ema`` node checked (one line naming the key each; the entry point adds
    ``model.``); None: no EMA."""
    settings = settings_node("ema", node, EMASettings)
    decay, warmup, span = settings.decay, settings.warmup, settings.span
    if not is_number(decay) or not 0.0 <= decay < 1.0:
        raise ArgumentError("ema.decay", f"{{name}}={decay!r} must be in (0, 1), or 0 for no EMA")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ArgumentError("ema.warmup", f"{{name}}={warmup!r} must be an integer >= 0")
    if not is_number(span) or not 0.0 <= span <= 1.0:
        raise ArgumentError(
            "ema.span", f"{{name}}={span!r} must be a number in [0, 1] (e.g. 0.25), 0: off"
        )
    require_choice("ema.score_raw", settings.score_raw, SCORE_RAW)
    return settings
