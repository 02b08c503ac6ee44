"""The default networks' own layers against the plain ways to compute them, side by side.

Per layer (forward and backward, the default's shapes at batch 8, channels-last as the
default runs), alternating the variants in rounds and printing medians:

- D's dropout: torch's ``nn.Dropout``, a mask from ``rand_like`` (one float per element),
  and the project's ``UniformMaskDropout`` (16 random bits per element);
- G's upsample + 5x5 conv: ``Upsample`` then ``Conv2d``, the fused conv with its kernel
  folded by an einsum and a channels-last copy, and the project's fused conv (one matmul
  straight into the channels-last layout).

``--steps`` then times whole default training steps (``loops.DefaultLoop``, the default
config's networks) with the project's layers against the same loop with the rand_like
mask and einsum fold put back, alternating chunks, to show what the layers change per step.

    python benchmarks/layer_speed.py --steps 160
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from default_speed import config, hand_written
from torch import nn

from dcgan_lab.models.dropout import UniformMaskDropout
from dcgan_lab.models.upsample_conv import _FOLD, NearestUpsampleConv2d

CL = torch.channels_last


def float_mask_dropout(p: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """Dropout with a ``rand_like`` mask: one uniform float (a 32-bit draw) per element."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * (torch.rand_like(x) >= p) * (1.0 / (1.0 - p))

    return forward


def einsum_fused(conv: NearestUpsampleConv2d) -> Callable[[torch.Tensor], torch.Tensor]:
    """The fused conv with its kernel folded by an einsum, then copied to channels-last."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        o, i = conv.weight.shape[:2]
        fold = _FOLD.to(conv.weight)
        weight = torch.einsum("ary,bcx,oiyx->oabirc", fold, fold, conv.weight)
        weight = weight.reshape(4 * o, i, 3, 3).contiguous(memory_format=CL)
        bias = None if conv.bias is None else conv.bias.repeat_interleave(4)
        return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=1), 2)

    return forward


def timed_rounds(
    variants: dict[str, Callable[[], None]], rounds: int, reps: int
) -> dict[str, float]:
    """Median ms per call of each variant, the variants alternating in every round."""
    ms: dict[str, list[float]] = defaultdict(list)
    for run in variants.values():  # warm-up
        for _ in range(reps):
            run()
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            for _ in range(reps):
                run()
            ms[name].append((time.perf_counter() - start) / reps * 1e3)
    return {name: statistics.median(times) for name, times in ms.items()}


def forward_backward(
    layer: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> Callable[[], None]:
    def run() -> None:
        out = layer(x)
        out.backward(torch.ones_like(out))

    return run


def report(title: str, ms: dict[str, float]) -> None:
    first = next(iter(ms.values()))
    print(title)
    for name, value in ms.items():
        print(f"  {name:<52}{value:>8.3f} ms   {first / value:>5.2f}x the first")


def layers(rounds: int, reps: int, batch: int) -> None:
    # D's dropout sees (2B, 64, 14, 14) and (2B, 128, 7, 7) on joined passes; B on the others.
    for shape in [(batch, 64, 14, 14), (batch, 128, 7, 7)]:
        x = torch.randn(shape).contiguous(memory_format=CL).requires_grad_(True)
        variants = {
            "nn.Dropout(0.3)": nn.Dropout(0.3),
            "rand_like mask": float_mask_dropout(0.3),
            "UniformMaskDropout(0.3) (the project's)": UniformMaskDropout(0.3),
        }
        ms = timed_rounds({k: forward_backward(v, x) for k, v in variants.items()}, rounds, reps)
        report(f"dropout on {tuple(shape)}, forward + backward:", ms)
    # G's first upsampling stage: (B, 128, 7, 7) -> (B, 64, 14, 14).
    fused = NearestUpsampleConv2d(128, 64).to(memory_format=CL)
    plain = nn.Conv2d(128, 64, 5, padding=2).to(memory_format=CL)
    x = torch.randn(batch, 128, 7, 7).contiguous(memory_format=CL).requires_grad_(True)
    variants = {
        "Upsample(2) then Conv2d(5x5)": lambda t: plain(F.interpolate(t, scale_factor=2.0)),
        "fused, einsum fold + channels-last copy": einsum_fused(fused),
        "fused, matmul fold (the project's)": fused,
    }
    ms = timed_rounds({k: forward_backward(v, x) for k, v in variants.items()}, rounds, reps)
    report(f"upsample + 5x5 conv, (B={batch}, 128, 7, 7) -> 64 channels, forward + backward:", ms)


def earlier_layers(module: nn.Module) -> None:
    """Put the rand_like mask and the einsum fold back into a default module's networks."""
    for layer in module.modules():
        if isinstance(layer, UniformMaskDropout):
            layer.forward = float_mask_dropout(layer.p)  # type: ignore[method-assign]
        elif isinstance(layer, NearestUpsampleConv2d):
            layer.forward = einsum_fused(layer)  # type: ignore[method-assign]


def steps(n: int, chunk: int, batch: int) -> None:
    cfg = config(f"data.batch_size={batch}")
    now = hand_written(cfg, seed=False)
    before = hand_written(cfg, seed=False, adjust=earlier_layers)
    chunks = max(1, n // chunk)
    ms = timed_rounds(
        {"default step, earlier layers": before, "default step, the project's layers": now},
        chunks,
        chunk,
    )
    report(
        f"whole default steps (loops.DefaultLoop, batch {batch}), {chunks} chunks of {chunk}:", ms
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--reps", type=int, default=20, help="calls per variant per round")
    parser.add_argument("--steps", type=int, default=0, help="also time this many whole steps each")
    parser.add_argument("--chunk", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    layers(args.rounds, args.reps, args.batch)
    if args.steps:
        steps(args.steps, args.chunk, args.batch)


if __name__ == "__main__":
    main()
