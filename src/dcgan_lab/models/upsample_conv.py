"""Nearest 2x upsampling followed by a 5x5 'same' conv, computed at the low resolution.

Upsampling by repeating each pixel 2x2 and then convolving with a 5x5 kernel gives each
output pixel a weighted sum of only 3x3 input pixels, with weights that depend on the
output pixel's parity (even or odd row and column). Along one axis, the 5 taps W0..W4
fall on the input pixels (i-1, i, i+1) as:

    even outputs: (W0 + W1, W2 + W3, W4)      odd outputs: (W0, W1 + W2, W3 + W4)

So the layer is one 3x3 conv with 4x the output channels (one per parity pair) on the
small image, then ``pixel_shuffle`` to interleave them: the same function as
``Upsample(2) -> Conv2d(5, padding=2)`` (up to float rounding) at about 9*4/(25*4) = 36%
of the multiply-adds, since the conv runs on a quarter of the pixels with 9/25 of the taps
per parity. The parameters stay a plain 5x5 ``Conv2d`` weight, so checkpoints are the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Fold matrices (parity, tap of the 3x3 kernel, tap of the 5x5 kernel) for one axis.
_FOLD = torch.tensor(
    [
        [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]],  # even output rows/columns
        [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]],  # odd output rows/columns
    ],
    dtype=torch.float32,
)


def fold_upsample_kernel(weight: torch.Tensor) -> torch.Tensor:
    """(O, I, 5, 5) kernel -> (4*O, I, 3, 3): channel 4*o + 2*row_parity + col_parity."""
    fold = _FOLD.to(weight)
    # a, b: row and column parity; r, c: 3x3 taps; y, x: 5x5 taps.
    folded = torch.einsum("ary,bcx,oiyx->oabirc", fold, fold, weight)
    out_channels, in_channels = weight.shape[:2]
    return folded.reshape(4 * out_channels, in_channels, 3, 3)


class NearestUpsampleConv2d(nn.Conv2d):
    """``Upsample(scale_factor=2, mode='nearest')`` then this 5x5 'same' conv, fused.

    (B, I, H, W) -> (B, O, 2H, 2W).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = fold_upsample_kernel(self.weight)
        bias = None if self.bias is None else self.bias.repeat_interleave(4)
        if x.is_contiguous(memory_format=torch.channels_last):
            weight = weight.contiguous(memory_format=torch.channels_last)
        # (B, I, H, W) -> (B, 4*O, H, W) -> (B, O, 2H, 2W)
        return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=1), 2)
