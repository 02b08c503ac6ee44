"""Whether the CPU runs bf16 natively: emulated bf16 trains several times slower than fp32.

Its own module (not the entry point's): joblib's launcher pickles what ``__main__``
references, and ``torch.ops`` cannot be pickled.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig


def native_bf16_cpu() -> bool:
    """True when this CPU runs bf16 natively (AVX-512 BF16 or AMX), as oneDNN sees it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def emulated_bf16_notice(trainer: DictConfig, native: bool) -> str | None:
    """A line for bf16 on a CPU that would emulate it (measured about 10x slower than fp32
    on an AVX2-only CPU by benchmarks/default_speed.py); None when nothing is wrong."""
    precision = str(trainer.get("precision", ""))
    if "bf16" not in precision or trainer.get("accelerator") != "cpu" or native:
        return None
    return (
        f"trainer.precision={precision}: this CPU has no native bf16 (AVX-512 BF16 or AMX), "
        "so torch emulates it, about 10x slower than trainer.precision=32-true"
    )
