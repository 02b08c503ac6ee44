"""Whether the CPU runs bf16 natively, and the one line a run's precision then deserves.

Emulated bf16 trains several times slower than fp32; native bf16 (AVX-512 BF16 or AMX)
trains the default faster, which under a time budget means more steps (docs/performance.md).
Its own module (not the entry point's): joblib's launcher pickles what ``__main__``
references, and ``torch.ops`` cannot be pickled.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig


def native_bf16_cpu() -> bool:
    """True when this CPU runs bf16 natively (AVX-512 BF16 or AMX), as oneDNN sees it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def precision_notice(trainer: DictConfig, native: bool) -> str | None:
    """A line about ``trainer.precision`` on this CPU, or None when there is nothing to say:
    bf16 that torch would emulate (measured about 10x slower than fp32 on an AVX2-only CPU
    by benchmarks/default_speed.py), or fp32 under a time budget on a CPU that runs bf16
    natively (about 1.3x the steps in the same time: benchmarks/bf16_speed.py), which
    conf/experiment/bf16_cpu.yaml turns into a better 10-minute result."""
    if trainer.get("accelerator") != "cpu":
        return None
    precision = str(trainer.get("precision", ""))
    if "bf16" in precision and not native:
        return (
            f"trainer.precision={precision}: this CPU has no native bf16 (AVX-512 BF16 or "
            "AMX), so torch emulates it, about 10x slower than trainer.precision=32-true"
        )
    if precision.startswith("32") and native and trainer.get("max_time"):
        return (
            f"this CPU runs bf16 natively (AVX-512 BF16 or AMX): trainer.precision=bf16-mixed "
            f"trains about 1.3x the steps within trainer.max_time={trainer.max_time}, and "
            "experiment=bf16_cpu spends them on a recipe tuned for it (docs/results.md, bf16)"
        )
    return None
