"""Dropout whose mask comes from 16 random bits per element on the CPU, where that is cheap."""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 65536  # a 16-bit draw takes this many values


class UniformMaskDropout(nn.Dropout):
    """``nn.Dropout`` (keep each element with probability 1 - p, scale the kept ones so the
    mean is unchanged), drawing the mask from 16 random bits per element on the CPU.

    Torch's CPU dropout draws a Bernoulli per element, about 2.5x the cost of a uniform float;
    a float costs one 32-bit draw per element, while one 64-bit draw here serves four
    elements. p is rounded to a multiple of 1/65536 (at most 7.6e-6 off) and the kept
    elements are scaled by the exact inverse of that keep rate, so the mask's mean is 1.
    Forward and backward together: 1.5x faster than the float mask at the default
    discriminator's shapes (``benchmarks/layer_speed.py``). Other devices keep torch's kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu":
            return super().forward(x)
        return (x * keep_mask(x, self.p)).to(x.dtype)


def keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A float32 mask shaped and laid out like ``x``: 0 with probability p (rounded to
    1/65536), else 65536 / (kept levels), so its mean is exactly 1."""
    n = x.numel()
    dropped = min(round(p * LEVELS), LEVELS - 1)  # of the 65536 values, these drop
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    # Full 64-bit range: random_() alone would draw in [0, 2**63) and leave a sign bit at 0.
    words.random_(-(2**63), 2**63 - 1)
    halves = words.view(torch.int16)[:n]  # (n,) uniform over -32768..32767
    mask = (halves >= dropped - LEVELS // 2).to(torch.float32).mul_(LEVELS / (LEVELS - dropped))
    # The elements are independent, so x's own strides (channels-last or not) can be reused.
    dense = x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)
    return mask.as_strided(x.shape, x.stride()) if dense else mask.view(x.shape)
