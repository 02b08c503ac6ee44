"""Drawing images from a generator with BatchNorm on batch statistics.

Sampling with BatchNorm's running statistics (eval mode) gives thinner, broken strokes
for this architecture; batch statistics match what G was trained with. The running
statistics are restored afterwards, so sampling never changes the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def batch_statistics(net: nn.Module) -> Iterator[nn.Module]:
    """Run ``net`` in train mode (BN on batch statistics), then restore its buffers and mode."""
    saved = {name: buf.clone() for name, buf in net.named_buffers()}
    was_training = net.training
    net.train()
    try:
        yield net
    finally:
        net.train(was_training)
        with torch.no_grad():
            for name, buf in net.named_buffers():
                buf.copy_(saved[name])


@torch.no_grad()
def generate(generator: nn.Module, noise: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """noise (N, latent_dim) -> images (N, C, H, W) in [-1, 1], in chunks of ``batch_size``."""
    with batch_statistics(generator):
        return torch.cat([generator(chunk) for chunk in noise.split(batch_size)])
