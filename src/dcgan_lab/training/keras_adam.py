"""Adam as Keras computes it: epsilon added after the bias correction ("epsilon hat").

PyTorch's Adam divides by sqrt(v / (1 - b2^t)) + eps; Keras' by (sqrt(v) + eps), scaling the
step by sqrt(1 - b2^t) / (1 - b1^t) instead (Kingma & Ba, the formula before Section 2.1).
The two differ where sqrt(v) is near eps: in the first steps, eps weighs up to 30x more in
Keras. ``experiment=keras`` uses this so its steps are Keras' to float precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models.checks import require_non_negative


class KerasAdam(Optimizer):
    """Keras 3's ``Adam`` (defaults lr 1e-3, betas (0.9, 0.999), epsilon 1e-7), no amsgrad."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
    ) -> None:
        require_non_negative("lr", lr, 1e-3)
        require_non_negative("eps", eps, 1e-7)
        for beta in betas:
            if not 0.0 <= beta < 1.0:
                raise ArgumentError(
                    "betas", f"{{name}}={list(betas)} must each be in [0, 1) (e.g. [0.9,0.999])"
                )
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                alpha = group["lr"] * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                m, v, g = state["m"], state["v"], p.grad
                m.lerp_(g, 1.0 - beta1)  # m += (g - m) * (1 - b1)
                v.lerp_(g.square(), 1.0 - beta2)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-alpha)
        return loss
