"""The demo page's picture: a grid of samples for a seed, a class and a truncation,
walked part of the way toward a second seed's samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dcgan_lab.errors import UserError
from dcgan_lab.images import make_grid, to_uint8
from dcgan_lab.models.sampling import NoiseStream, Sampler, require_truncation, truncated
from dcgan_lab.pictures.interpolation import slerp_at

SEED_LIMIT = 2**63  # torch seeds are 64-bit


@dataclass(frozen=True)
class GridRequest:
    """What the page asks for; ``label`` is a class, ``all`` (every class in turn) or None
    (an unconditional model); truncation 0 or None draws plain N(0, 1) noise."""

    seed: object = 0
    other_seed: object = 1
    walk: object = 0.0
    label: object = None
    truncation: object = None


def whole_number(name: str, value: object) -> int:
    """An integer in [0, 2^63) from a form field (a float with no fraction is fine)."""
    if value is None:
        raise UserError(f"{name} is empty: choose a whole number from 0 to 2^63 - 1")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_LIMIT:
        raise UserError(f"{name}={value!r}: choose a whole number from 0 to 2^63 - 1")
    return value


def fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UserError(f"{name}={value!r}: choose a fraction from 0 (first seed) to 1 (second)")
    return float(value)


def grid_labels(label: object, num_classes: int, n: int) -> torch.Tensor | None:
    """Labels of the grid: n of one class, or for ``all`` rows that each run through the
    classes in order (n // C rows, at least one); None for an unconditional model."""
    if not num_classes:
        if label not in (None, "all"):
            raise UserError(f"class={label!r}: this model is not conditional")
        return None
    if label in (None, "all"):
        return torch.arange(num_classes * max(1, n // num_classes)) % num_classes
    if isinstance(label, str) and label.isdigit():
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < num_classes:
        raise UserError(f"class={label!r}: choose all or a class from 0 to {num_classes - 1}")
    return torch.full((n,), label)


def demo_grid(
    sample: Sampler, latent_dim: int, num_classes: int, request: GridRequest, n: int = 16
) -> np.ndarray:
    """uint8 (H, W, C) grid of n images: image i takes noise row i of ``seed`` and of
    ``other_seed`` (``NoiseStream``: the same rows as dcgan-sample draws), a fraction
    ``walk`` of the great circle between them, then truncation."""
    seed = whole_number("seed", request.seed)
    other = whole_number("second seed", request.other_seed)
    walk = fraction("walk", request.walk)
    threshold = require_truncation(request.truncation or None)
    labels = grid_labels(request.label, num_classes, n)
    n = len(labels) if labels is not None else n
    columns = num_classes if labels is not None and request.label in (None, "all") else None
    start = NoiseStream(seed, latent_dim).take(n)  # (n, Z)
    end = NoiseStream(other, latent_dim).take(n)
    noise = slerp_at(start, end, torch.tensor([walk]))[:, 0]  # (n, Z)
    if threshold:
        noise = truncated(noise, threshold)
    with torch.no_grad():
        images = to_uint8(sample(noise, labels))  # (n, C, H, W)
    return make_grid(images, nrow=columns)  # default: a square
