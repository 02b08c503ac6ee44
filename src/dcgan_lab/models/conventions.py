"""Layer conventions: the DCGAN paper's in PyTorch, or Keras' defaults, for the same networks.

``dcgan``: weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02) (Radford et al. 2015);
PyTorch's BatchNorm (momentum 0.1, eps 1e-5, unbiased running variance); symmetric padding.

``keras``: what a Keras model gets when its layers name no initializer or setting:
glorot-uniform weights and zero biases; BatchNorm with momentum 0.99 (0.01 in PyTorch's
sense), epsilon 1e-3, and a moving variance fed the biased batch variance; TensorFlow's
'same' padding, which puts the odd extra pixel of a strided conv at the end. With these,
``experiment=keras`` takes the same steps as the Keras code (tests/fidelity).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lab.models.checks import require_choice

CONVENTIONS = ("dcgan", "keras")


def require_conventions(value: object) -> str:
    return require_choice("conventions", value, CONVENTIONS)


def init_dcgan_weights(module: nn.Module) -> None:
    """Conv and linear weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), biases 0.

    Use as ``net.apply(init_dcgan_weights)``.
    """
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def init_keras_weights(module: nn.Module) -> None:
    """Keras' defaults: glorot-uniform kernels, zero biases, BN scale 1 and shift 0.

    Glorot's fans are PyTorch's for these layers (conv: channels times kernel area).
    """
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


INIT = {"dcgan": init_dcgan_weights, "keras": init_keras_weights}


def keras_batch_norm(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Keras' BatchNorm in training mode: normalise with the batch's (biased) statistics, as
    PyTorch does, but feed the moving variance the biased variance too (PyTorch feeds the
    unbiased one: at batch 32 on a dense layer that is 3% apart, and ``predict``-mode
    samples see it). Eval mode is PyTorch's own."""
    if not bn.training or bn.running_mean is None or bn.running_var is None:
        return nn.modules.batchnorm._BatchNorm.forward(bn, x)
    with torch.no_grad():
        dims = [0, *range(2, x.dim())]  # all but the channel axis
        var, mean = torch.var_mean(x, dim=dims, correction=0)  # (C,), (C,)
        momentum = bn.momentum if bn.momentum is not None else 0.1
        bn.running_mean.lerp_(mean, momentum)
        bn.running_var.lerp_(var, momentum)
    return F.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)


class KerasBatchNorm1d(nn.BatchNorm1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C)
        return keras_batch_norm(self, x)


class KerasBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return keras_batch_norm(self, x)


def batch_norm(features: int, conventions: str, spatial: bool = True) -> nn.Module:
    """BatchNorm over ``features`` channels ((B, C, H, W) if ``spatial`` else (B, C))."""
    if conventions == "keras":
        keras_cls = KerasBatchNorm2d if spatial else KerasBatchNorm1d
        return keras_cls(features, eps=1e-3, momentum=0.01)
    return nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features)


class SamePaddingConv2d(nn.Conv2d):
    """A conv with TensorFlow's 'same' padding: output side ceil(n / stride), the total
    padding split with the odd pixel at the end (PyTorch's symmetric ``padding`` puts it at
    both ends, shifting a stride-2 conv's sampling grid by one pixel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size, k, s in zip(
            reversed(x.shape[2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # (left, right) from the last axis
        return self._conv_forward(F.pad(x, pads), self.weight, self.bias)


def strided_conv(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, conventions: str
) -> nn.Conv2d:
    """A 'same'-padded strided conv: (B, I, H, W) -> (B, O, ceil(H/s), ceil(W/s))."""
    if conventions == "keras":
        return SamePaddingConv2d(in_channels, out_channels, kernel_size, stride, padding=0)
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2)
