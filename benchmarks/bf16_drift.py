"""Where bf16 autocast bends a default training step: gradients under bf16 vs fp32.

Takes a default run's checkpoint (trained networks, where the stall showed) and one batch of
its data, computes each gradient of one training step in fp32 and under
``torch.autocast("cpu", torch.bfloat16)`` (what ``trainer.precision=bf16-mixed`` runs), and
prints the relative error ||g_bf16 - g_fp32|| / ||g_fp32|| per layer for D's loss on real
and fake, R1's penalty (its double backward) and G's loss, plus the cosine between the
whole gradients. Dropout is off, so both precisions see the same function.

``--steps N`` then trains N default steps (``loops.DefaultLoop``, dropout on) from the
checkpoint in each precision and prints how far the biases of the layers that feed a
BatchNorm move: BatchNorm cancels them, so their exact gradient is zero, and how much
rounding noise a precision puts there decides whether Adam walks them away.

    python benchmarks/bf16_drift.py outputs/runs/<date>/<time>/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from loops import DefaultLoop, batches

from dcgan_lab.cli.common import config_dir
from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.training.loading import load_module
from dcgan_lab.training.losses import r1_penalty
from dcgan_lab.training.module import DCGANModule

Loss = Callable[[DCGANModule, torch.Tensor, torch.Tensor], torch.Tensor]


def d_loss(m: DCGANModule, real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    fake = m.generator(z).detach()
    return m.loss.discriminator_real(m.discriminator(real)) + m.loss.discriminator_fake(
        m.discriminator(fake)
    )


def r1(m: DCGANModule, real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    real = real.detach().requires_grad_(True)
    return r1_penalty(m.discriminator(real), real)


def g_loss(m: DCGANModule, real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return m.loss.generator(m.discriminator(m.generator(z)))


def gradients(
    m: DCGANModule, loss: Loss, real: torch.Tensor, z: torch.Tensor, bf16: bool
) -> dict[str, torch.Tensor]:
    m.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        value = loss(m, real, z)
    value.float().backward()
    return {n: p.grad.detach().clone() for n, p in m.named_parameters() if p.grad is not None}


def pre_norm_biases(m: DCGANModule) -> dict[str, torch.Tensor]:
    """The biases of G's layers whose output goes straight into a BatchNorm."""
    layers = [*m.generator.project, *m.generator.upsample]
    return {
        f"{type(a).__name__} before {type(b).__name__}": a.bias
        for a, b in itertools.pairwise(layers)
        if isinstance(b, torch.nn.modules.batchnorm._BatchNorm)
        and getattr(a, "bias", None) is not None
    }


def drift(ckpt_path: str, images: torch.Tensor, steps: int, bf16: bool) -> dict[str, float]:
    """Largest |bias| of each pre-BatchNorm layer after ``steps`` default training steps."""
    m = load_module(ckpt_path)
    m.g_optimizer_factory = m.d_optimizer_factory = None
    cfg = compose("train")
    opt_g = instantiate(cfg.model.g_optimizer)(m.generator.parameters())
    opt_d = instantiate(cfg.model.d_optimizer)(m.discriminator.parameters())
    loop = DefaultLoop(m.generator, m.discriminator, m.generator_ema, opt_g, opt_d, m.latent_dim,
                       1.0, 4, 0.9998, 100, channels_last=False)  # fmt: skip
    torch.manual_seed(0)
    m.train()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for real in batches(images, 8, steps):
            loop.step(real)
    return {name: float(b.detach().abs().max()) for name, b in pre_norm_biases(m).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt_path")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=0, help="then train N steps in each")
    args = parser.parse_args()
    m = load_module(args.ckpt_path)
    for layer in m.discriminator.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.0  # the same function in both precisions
    m.train()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        data = instantiate(compose("train").data).loaded()
    torch.manual_seed(0)
    pick = torch.randperm(len(data.train_images))[: args.batch]
    real = to_signed_unit(data.train_images[pick])  # (B, 1, 28, 28)
    z = torch.randn(args.batch, m.latent_dim)
    print(f"{args.ckpt_path}: batch {args.batch}; relative gradient error of bf16 autocast")
    for name, loss in (("D loss (real + fake)", d_loss), ("R1 penalty", r1), ("G loss", g_loss)):
        exact, approx = gradients(m, loss, real, z, False), gradients(m, loss, real, z, True)
        flat = [torch.cat([g[n].flatten() for n in exact]) for g in (exact, approx)]
        cosine = torch.nn.functional.cosine_similarity(flat[0], flat[1], dim=0)
        print(f"\n{name}: cosine of the whole gradient {float(cosine):.4f}")
        for n in exact:
            error = (approx[n] - exact[n]).norm() / exact[n].norm().clamp_min(1e-30)
            print(f"  {n:<48}{float(error):>9.4f}   |g| {float(exact[n].norm()):.3g}")
    if args.steps and not pre_norm_biases(m):
        print("\nno layer of G feeds a BatchNorm through a bias (dcgan conventions): none to drift")
    elif args.steps:
        start = {n: float(b.detach().abs().max()) for n, b in pre_norm_biases(m).items()}
        print(f"\nlargest |bias| feeding a BatchNorm: at the checkpoint, after {args.steps} steps")
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            ends = {p: drift(args.ckpt_path, data.train_images, args.steps, p == "bf16")
                    for p in ("fp32", "bf16")}  # fmt: skip
        for n, value in start.items():
            print(
                f"  {n:<40}{value:>10.4f}  fp32 {ends['fp32'][n]:.4f}  bf16 {ends['bf16'][n]:.4f}"
            )


if __name__ == "__main__":
    main()
