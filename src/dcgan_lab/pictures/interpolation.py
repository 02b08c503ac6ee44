"""Walks through latent space: spherical interpolation between pairs of latent points.

Latent points of a Gaussian prior lie near a sphere of radius sqrt(Z); a straight line
between two of them passes through the low-norm middle the generator rarely saw, a great
circle (slerp, White 2016) does not.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dcgan_lab.errors import UserError
from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.models.checks import require_int
from dcgan_lab.models.sampling import Sampler


def slerp(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """(P, Z) start and end points -> (P, steps, Z) along the great circle, both ends included."""
    return slerp_at(start, end, torch.linspace(0, 1, steps, dtype=start.dtype))


def slerp_at(start: torch.Tensor, end: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """(P, Z) start and end points -> (P, S, Z) at the (S,) fractions of the great circle."""
    t = fractions.to(start.dtype)[None, :, None]  # (1, S, 1)
    cosine = torch.nn.functional.cosine_similarity(start, end, dim=1).clamp(-1, 1)  # (P,)
    omega = cosine.acos()[:, None, None]  # (P, 1, 1)
    sin_omega = omega.sin()
    straight = sin_omega.abs() < 1e-6  # (nearly) parallel points: the line is the arc
    w_start = torch.where(straight, 1 - t, ((1 - t) * omega).sin() / sin_omega)
    w_end = torch.where(straight, t, (t * omega).sin() / sin_omega)
    return w_start * start[:, None] + w_end * end[:, None]


def interpolation_inputs(pairs: int, steps: int, latent_dim: int, seed: int) -> torch.Tensor:
    """Noise (pairs * steps, Z): row p walks from one random latent point to another."""
    source = torch.Generator().manual_seed(seed)
    start = torch.randn(pairs, latent_dim, generator=source)
    end = torch.randn(pairs, latent_dim, generator=source)
    return slerp(start, end, steps).flatten(0, 1)


def class_sweep_inputs(
    rows: int, num_classes: int, latent_dim: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, labels) of rows * C images: row r keeps one z and runs through the classes."""
    source = torch.Generator().manual_seed(seed)
    noise = torch.randn(rows, 1, latent_dim, generator=source).expand(rows, num_classes, latent_dim)
    labels = torch.arange(num_classes).repeat(rows)
    return noise.reshape(-1, latent_dim), labels


def save_interpolations(
    sample: Sampler,
    latent_dim: int,
    num_classes: int,
    pairs: int,
    steps: int,
    seed: int,
    out_dir: Path,
    label: int | None = None,
) -> list[Path]:
    """``interpolation_<seed>.png``: a row per walk (``pairs`` rows of ``steps``); for a
    conditional model each walk keeps one class (``label``, else row p draws class p mod C),
    and ``class_sweep_<seed>.png`` holds one z per row across every class."""
    require_int("pairs", pairs, 1, 8)
    require_int("steps", steps, 2, 10)
    if pairs > 64 or steps > 32:
        raise UserError(f"pairs={pairs}, steps={steps}: at most 64 rows of 32 images")
    noise = interpolation_inputs(pairs, steps, latent_dim, seed)  # (pairs * steps, Z)
    labels = None
    if num_classes:
        row_class = (
            torch.full((pairs,), label) if label is not None else torch.arange(pairs) % num_classes
        )
        labels = row_class.repeat_interleave(steps)  # (pairs * steps,)
    written = [
        save_grid(to_uint8(sample(noise, labels)), out_dir / f"interpolation_{seed}.png", steps)
    ]
    if num_classes:
        sweep_noise, sweep_labels = class_sweep_inputs(pairs, num_classes, latent_dim, seed)
        images = to_uint8(sample(sweep_noise, sweep_labels))
        written.append(save_grid(images, out_dir / f"class_sweep_{seed}.png", num_classes))
    return written
