"""Hand-written training loops the benchmarks hold the project against.

``seed_step`` is the plain DCGAN step a user copies (BCE, one D update on real and fake,
one G update). ``DefaultLoop`` does by hand exactly the work of the project's default
config: the same networks and optimizers, R1 on every ``r1_every``-th D step (weighted
``r1_every`` times), and the EMA generator with its warm-up, so the difference to
``Trainer.fit`` is the framework's per-step work alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer

from dcgan_lab.data.datamodule import to_signed_unit


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def seed_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer, real: torch.Tensor,
              latent_dim: int) -> None:  # fmt: skip
    """The plain step: D on real + detached fakes, then G through a frozen D."""
    z = torch.randn(real.shape[0], latent_dim, device=real.device)  # (B, Z)
    fake = G(z)  # (B, C, H, W)
    d_loss = bce(D(real), 1.0) + bce(D(fake.detach()), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    D.requires_grad_(False)  # no D weight grads in the G step (the module's toggle does this)
    g_loss = bce(D(fake), 1.0)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    D.requires_grad_(True)


class DefaultLoop:
    """The default config's step by hand: lazy R1 and the EMA generator on top of the seed step."""

    def __init__(self, G: nn.Module, D: nn.Module, ema: nn.Module, opt_g: Optimizer,
                 opt_d: Optimizer, latent_dim: int, r1_weight: float, r1_every: int,
                 ema_decay: float, ema_warmup: int, channels_last: bool,
                 ema_span: float = 0.0) -> None:  # fmt: skip
        self.G, self.D, self.opt_g, self.opt_d = G, D, opt_g, opt_d
        self.latent_dim, self.r1_weight, self.r1_every = latent_dim, r1_weight, r1_every
        self.decay, self.warmup, self.channels_last = ema_decay, ema_warmup, channels_last
        self.span = ema_span
        # The average's tensors beside G's, float ones lerped, integer ones (BN's counter) copied.
        averaged = getattr(ema, "module", ema)  # AveragedModel wraps the copy
        pairs = list(
            zip(
                [*averaged.parameters(), *averaged.buffers()],
                [*G.parameters(), *G.buffers()],
                strict=True,
            )
        )
        self.floats = [(a, c) for a, c in pairs if a.is_floating_point()]
        self.ints = [(a, c) for a, c in pairs if not a.is_floating_point()]
        self.step_index = 0

    def step(self, real: torch.Tensor) -> None:
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        G, D = self.G, self.D
        z = torch.randn(real.shape[0], self.latent_dim, device=real.device)  # (B, Z)
        fake = G(z)  # (B, C, H, W)
        r1 = self.step_index % self.r1_every == 0
        if r1:
            real = real.detach().requires_grad_(True)
        real_logits = D(real)  # (B,)
        d_loss = bce(real_logits, 1.0)
        if r1:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            penalty = grad.flatten(1).square().sum(dim=1).mean()
            d_loss = d_loss + 0.5 * self.r1_weight * self.r1_every * penalty
        d_loss = d_loss + bce(D(fake.detach()), 0.0)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        D.requires_grad_(False)
        g_loss = bce(D(fake), 1.0)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)
        self.step_index += 1
        n = self.step_index - 1  # updates before this one
        decay = self.decay * min(1.0, n / self.warmup) if self.warmup else self.decay
        if self.span:
            decay = min(decay, max(0.0, 1.0 - 1.0 / (self.span * max(n, 1))))
        decay = decay if n else 0.0  # the first update copies
        with torch.no_grad():
            torch._foreach_lerp_(
                [a for a, _ in self.floats], [c for _, c in self.floats], 1.0 - decay
            )
            for a, c in self.ints:
                a.copy_(c)


def batches(images: torch.Tensor, batch_size: int, n: int) -> Iterator[torch.Tensor]:
    """n batches (uint8 on the device, scaled per batch), reshuffled each pass like the loader."""
    done = 0
    while done < n:
        order = torch.randperm(len(images), device=images.device)
        for start in range(0, len(images) - batch_size + 1, batch_size):
            if done == n:
                return
            yield to_signed_unit(images[order[start : start + batch_size]])
            done += 1
