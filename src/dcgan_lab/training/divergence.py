"""Stopping a run whose losses or weights stopped being finite, before any checkpoint
holds a NaN (the module calls this from its step, epoch-end and checkpoint hooks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import pytorch_lightning as pl
import torch

from dcgan_lab.errors import TrainingDiverged

ADVICE = "the last good checkpoint is kept (lower the learning rates to continue)"
LOSSES = ("train/d_loss", "train/g_loss")


class DivergenceWatch:
    """Remembers whether any loss was non-finite since the run started.

    The flag stays on the device: ``record`` only combines tensors, and ``check`` reads it
    on the host. ``after_step`` checks every step on the CPU (where a read is free) and
    elsewhere only on logging steps; the module checks at epoch ends and before a
    checkpoint save too. A per-step host sync would stall a GPU.
    """

    def __init__(self) -> None:
        self.nonfinite: torch.Tensor | None = None  # () bool, on the losses' device
        self.last_losses: dict[str, torch.Tensor] = {}

    def record(self, stats: dict[str, torch.Tensor]) -> None:
        """Takes a step's logged values; only the D and G losses are watched."""
        losses = {name: stats[name] for name in LOSSES if name in stats}
        finite = torch.stack(list(losses.values())).isfinite().all()
        self.nonfinite = ~finite if self.nonfinite is None else self.nonfinite | ~finite
        self.last_losses = losses

    def after_step(
        self, stats: dict[str, torch.Tensor], step: int, device: torch.device, logging: bool
    ) -> None:
        """``record``, then ``check`` where that costs no device sync or a log step reads
        the values anyway."""
        self.record(stats)
        if logging or self.host_reads_free(device):
            self.check(step)

    @staticmethod
    def host_reads_free(device: torch.device) -> bool:
        """On the CPU reading a tensor's value costs no device sync."""
        return device.type == "cpu"

    def check(self, step: int) -> None:
        """Raises ``TrainingDiverged`` naming the last losses if any loss was non-finite."""
        if self.nonfinite is None or not bool(self.nonfinite):
            return
        values = ", ".join(f"{name}={float(v):.4g}" for name, v in self.last_losses.items())
        raise TrainingDiverged(f"training diverged at step {step}: {values}; {ADVICE}")

    def check_weights(self, named: Iterable[tuple[str, torch.Tensor]], step: int) -> None:
        """Raises ``TrainingDiverged`` naming the first non-finite weight."""
        self.check(step)
        bad = next((name for name, p in named if not torch.isfinite(p).all()), None)
        if bad is not None:
            raise TrainingDiverged(
                f"training diverged by step {step}: non-finite weights in {bad}; {ADVICE}"
            )


def replica_drift(module: pl.LightningModule) -> torch.Tensor:
    """Spread over DDP ranks of a weight checksum: 0 while they step in lockstep."""
    weights = torch.cat([p.detach().double().flatten() for p in module.parameters()])
    checksum = torch.stack([weights.sum(), weights.square().sum()])  # (2,)
    gathered = cast(torch.Tensor, module.all_gather(checksum))  # (world_size, 2)
    return (gathered.max(dim=0).values - gathered.min(dim=0).values).max()
