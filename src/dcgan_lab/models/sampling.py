"""Drawing images from a generator, with a choice of BatchNorm statistics.

- ``standing`` (the default): eval mode with statistics measured once for the current
  weights, over ``STANDING_SAMPLES`` fresh latents with mixed labels. An image depends only
  on its noise and label, never on what else is drawn with it. The statistics are kept
  (``StandingCache``) until the weights change, and travel in checkpoints.
- ``running``: eval mode with BatchNorm's running averages (Keras ``predict``, ``G.eval()``).
- ``batch``: each chunk normalises with its own statistics, as G trained, so an image
  depends on the others drawn with it; chunks are balanced so that none holds a lone image.

The model's buffers and mode are restored afterwards: sampling never changes the model.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from dcgan_lab.errors import UserError
from dcgan_lab.models.checks import is_number, require_choice

# noise (N, Z) [, labels (N,)] -> images (N, C, H, W) in [-1, 1]
Sampler = Callable[..., torch.Tensor]

BN_MODES = ("standing", "batch", "running")
# Latents the standing statistics average over: 4 batches of 256 (every BatchNorm channel
# then sees at least 1,024 values; a default training batch shows it 8).
STANDING_SAMPLES, STANDING_BATCH = 1024, 256
STANDING_SEED = 0


def require_bn_mode(name: str, value: str) -> str:
    """``value`` if it is one of ``BN_MODES``, else an error naming the argument ``name``."""
    return require_choice(name, value, BN_MODES)


def batch_norms(net: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    """The net's BatchNorm layers that keep statistics, by module name."""
    return {
        name: m
        for name, m in net.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    }


def fingerprint(net: nn.Module) -> str:
    """A digest of the weights that the standing statistics depend on: every parameter and
    every buffer except BatchNorm's own statistics, by value (device and layout aside)."""
    norm_buffers = {
        f"{name}.{b}" if name else b
        for name, m in batch_norms(net).items()
        for b, _ in m.named_buffers(recurse=False)
    }
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
        if name in norm_buffers:
            continue
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(name.encode())
        digest.update(str(flat.dtype).encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class StandingStatistics:
    """Per BatchNorm (by module name): mean (C,) and variance (C,) of its input over mixed
    latent batches, for the weights whose ``fingerprint`` is given."""

    fingerprint: str
    means: dict[str, torch.Tensor]
    variances: dict[str, torch.Tensor]

    def to_state(self) -> dict[str, object]:
        """Plain tensors and strings, for a checkpoint (``torch.load(weights_only=True)``)."""
        return {"fingerprint": self.fingerprint, "means": self.means, "variances": self.variances}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> StandingStatistics:
        means, variances = state["means"], state["variances"]
        assert isinstance(means, dict) and isinstance(variances, dict)
        return cls(str(state["fingerprint"]), dict(means), dict(variances))


@torch.no_grad()
def measure_standing(
    net: nn.Module, latent_dim: int, num_classes: int = 0, digest: str | None = None
) -> StandingStatistics:
    """Run ``net`` in train mode over ``STANDING_SAMPLES`` seeded latents (uniformly drawn
    labels for a conditional net) and average each BatchNorm's batch statistics; the net's
    buffers, mode and the global RNG are left as they were. ``digest``: the weights'
    ``fingerprint`` when the caller has it already."""
    norms = batch_norms(net)
    device = next(net.parameters()).device
    noise_source = torch.Generator(device=device).manual_seed(STANDING_SEED)
    with batch_statistics(net):
        momenta = {name: m.momentum for name, m in norms.items()}
        for m in norms.values():
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
        try:
            for _ in range(STANDING_SAMPLES // STANDING_BATCH):
                size = (STANDING_BATCH,)
                z = torch.randn(*size, latent_dim, device=device, generator=noise_source)
                labels = None
                if num_classes:
                    labels = torch.randint(num_classes, size, device=device, generator=noise_source)
                net(z, labels)
            means = {n: m.running_mean.clone() for n, m in norms.items()}  # type: ignore[union-attr]
            variances = {n: m.running_var.clone() for n, m in norms.items()}  # type: ignore[union-attr]
        finally:
            for name, m in norms.items():
                m.momentum = momenta[name]
    return StandingStatistics(digest or fingerprint(net), means, variances)


class StandingCache:
    """The standing statistics of each generator, measured once per set of weights.

    Keyed weakly by the network; an entry whose fingerprint no longer matches the weights
    (an optimizer or EMA step since) is measured again on next use.
    """

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary[nn.Module, StandingStatistics] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, net: nn.Module) -> StandingStatistics:
        found, digest = self._entries.get(net), fingerprint(net)  # one hash of the weights
        if found is not None and found.fingerprint == digest:
            return found
        latent_dim, classes = cast(int, net.latent_dim), getattr(net, "num_classes", 0)
        stats = measure_standing(net, latent_dim, classes or 0, digest)
        self._entries[net] = stats
        return stats

    def put(self, net: nn.Module, stats: StandingStatistics) -> None:
        """Statistics read back from a checkpoint; used while the weights match them."""
        self._entries[net] = stats

    def states(self, nets: dict[str, nn.Module]) -> dict[str, dict[str, object]]:
        """Each named generator's statistics (measured now if need be), for a checkpoint."""
        return {name: self.get(net).to_state() for name, net in nets.items()}

    def restore(self, nets: dict[str, nn.Module], saved: dict[str, dict[str, object]]) -> None:
        """The statistics a checkpoint saved (``states``), for the generators named alike;
        used once the weights load and match their fingerprint."""
        for name, state in saved.items():
            if name in nets:
                self.put(nets[name], StandingStatistics.from_state(state))


STANDING = StandingCache()


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


@contextmanager
def running_statistics(net: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (BatchNorm's running averages), then the mode restored. Eval mode changes
    no buffer, so nothing is copied: the Keras step samples this way every iteration."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


@contextmanager
def standing_statistics(net: nn.Module) -> Iterator[nn.Module]:
    """Eval mode on the net's standing statistics (``STANDING``), then its BatchNorm
    buffers and mode restored."""
    stats = STANDING.get(net)
    norms = batch_norms(net)
    saved = {n: (m.running_mean, m.running_var) for n, m in norms.items()}
    was_training = net.training
    try:
        for name, (mean, var) in saved.items():  # a net moved since: its device and dtype
            m = norms[name]
            m.running_mean = stats.means[name].to(mean.device, mean.dtype)  # type: ignore[union-attr]
            m.running_var = stats.variances[name].to(var.device, var.dtype)  # type: ignore[union-attr]
        net.eval()
        yield net
    finally:
        net.train(was_training)
        for name, m in norms.items():
            m.running_mean, m.running_var = saved[name]


def balanced_chunks(n: int, batch_size: int) -> list[int]:
    """Sizes of ceil(n / batch_size) chunks that differ by at most one (257 by 256: 129, 128),
    so batch statistics never fall on a lone image when n > 1."""
    count = -(-n // batch_size)
    return [n // count + (i < n % count) for i in range(count)]


@torch.no_grad()
def generate(
    generator: nn.Module,
    noise: torch.Tensor,
    labels: torch.Tensor | None = None,
    bn: str = "standing",
    batch_size: int = 256,
) -> torch.Tensor:
    """noise (N, latent_dim) [, labels (N,)] -> images (N, C, H, W) in [-1, 1], in chunks
    of at most ``batch_size``. ``bn`` picks BatchNorm's statistics: one of ``BN_MODES``."""
    require_bn_mode("bn_sampling", bn)
    if bn == "batch" and len(noise) == 1 and batch_norms(generator):
        raise UserError(
            "bn_sampling=batch normalises each image by the others drawn with it, and one "
            "image has none: draw at least 2, or use bn_sampling=standing"
        )
    if bn == "standing":
        mode = standing_statistics(generator)
    elif bn == "running":
        mode = running_statistics(generator)
    else:
        mode = batch_statistics(generator)
    sizes = balanced_chunks(len(noise), batch_size) if len(noise) else [0]
    with mode:
        chunks = noise.split(sizes)
        label_chunks = labels.split(sizes) if labels is not None else [None] * len(chunks)
        return torch.cat([generator(z, y) for z, y in zip(chunks, label_chunks, strict=True)])


class NoiseStream:
    """Latent rows N(0, 1) from a seed, handed out in any chunk sizes: row i is the same
    whatever n and chunking ask for it (torch draws small and large tensors with different
    algorithms, so the rows are drawn in fixed blocks of ``block``)."""

    def __init__(self, seed: int, latent_dim: int, block: int = 1024) -> None:
        self.source = torch.Generator().manual_seed(seed)
        self.latent_dim, self.block = latent_dim, block
        self.buffer = torch.empty(0, latent_dim)

    def take(self, k: int) -> torch.Tensor:
        """The next k rows (k, Z)."""
        while len(self.buffer) < k:
            fresh = torch.randn(self.block, self.latent_dim, generator=self.source)
            self.buffer = torch.cat([self.buffer, fresh])
        rows, self.buffer = self.buffer[:k], self.buffer[k:]
        return rows


def grid_inputs(
    n: int, latent_dim: int, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Noise (n, Z) and labels (n,) (None: unconditional) for a sample grid. Conditional:
    one row per class, the columns sharing their noise, so a row shows one class in
    sqrt(n) styles (num_classes * isqrt(n) images)."""
    if not num_classes:
        return torch.randn(n, latent_dim), None
    columns = max(1, math.isqrt(n))
    noise = torch.randn(columns, latent_dim).repeat(num_classes, 1)  # (C*cols, Z)
    return noise, torch.arange(num_classes).repeat_interleave(columns)


def require_truncation(value: object) -> float | None:
    """``truncation``: None (plain N(0, 1) noise) or a threshold t > 0."""
    if value is None:
        return None
    if is_number(value) and 0 < value < math.inf:
        return float(value)
    raise UserError(
        f"truncation={value!r}: give a threshold > 0 (e.g. truncation=0.7; smaller is "
        "sharper and less varied) or null for none"
    )


def truncated(noise: torch.Tensor, threshold: float) -> torch.Tensor:
    """The truncation trick (Brock et al. 2019, BigGAN): N(0, 1) noise (N, Z) turned into
    noise from N(0, 1) truncated to [-t, t], element by element through the normal CDF
    (z -> Phi^-1(Phi(-t) + (Phi(t) - Phi(-t)) Phi(z))): the same distribution as redrawing
    the values beyond t, but each row depends on its own noise only, so image i of a seed
    stays the same at any n."""
    low = torch.special.ndtr(torch.tensor(-threshold, dtype=torch.float64))
    width = 1.0 - 2.0 * low  # Phi(t) - Phi(-t)
    u = low + width * torch.special.ndtr(noise.double())
    return torch.special.ndtri(u).clamp(-threshold, threshold).to(noise.dtype)
