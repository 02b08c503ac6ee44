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
# Both axes at once, (25, 36): row y*5+x (5x5 tap), column a*18+b*9+r*3+c (row parity a,
# column parity b, 3x3 tap r, c); 100 ones, each 5x5 tap lands once per parity pair.
_FOLD_2D = torch.einsum("ary,bcx->yxabrc", _FOLD, _FOLD).reshape(25, 36)


def fold_upsample_kernel(weight: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """(O, I, 5, 5) kernel -> (4*O, I, 3, 3): channel 4*o + 2*row_parity + col_parity.

    One (O*I, 25) x (25, 36) matmul and one copy into the layout the conv wants
    (``channels_last``: (4*O, 3, 3, I) in memory), forward and backward alike: 1.8x faster
    than an einsum, a reshape and a channels-last copy (``benchmarks/layer_speed.py``).
    """
    out_channels, in_channels = weight.shape[:2]
    folded = weight.reshape(out_channels * in_channels, 25) @ _FOLD_2D.to(weight)
    folded = folded.view(out_channels, in_channels, 4, 3, 3)  # (O, I, parity pair, r, c)
    if channels_last:
        by_tap = folded.permute(0, 2, 3, 4, 1).reshape(4 * out_channels, 3, 3, in_channels)
        return by_tap.permute(0, 3, 1, 2)  # (4*O, I, 3, 3), channels-last strides
    return folded.transpose(1, 2).reshape(4 * out_channels, in_channels, 3, 3)


class NearestUpsampleConv2d(nn.Conv2d):
    """``Upsample(scale_factor=2, mode='nearest')`` then this 5x5 'same' conv, fused.

    (B, I, H, W) -> (B, O, 2H, 2W).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size=5, padding=2, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.is_contiguous(memory_format=torch.channels_last)
        weight = fold_upsample_kernel(self.weight, channels_last)
        bias = None if self.bias is None else self.bias.repeat_interleave(4)
        # (B, I, H, W) -> (B, 4*O, H, W) -> (B, O, 2H, 2W)
        return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=1), 2)
