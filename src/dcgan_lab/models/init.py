"""DCGAN weight initialisation (Radford et al. 2015), in one place."""

from __future__ import annotations

from torch import nn


def init_dcgan_weights(module: nn.Module) -> None:
    """Conv and linear weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), biases 0.

    Use as ``net.apply(init_dcgan_weights)``.
    """
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
