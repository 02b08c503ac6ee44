"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data", StyleGAN2-ADA).

Every image D sees, real or fake, in D's and G's steps alike, goes through each op with
probability ``p`` (each image and op drawn on its own). Below p = 1 the augmented
distributions of real and fake images match only when the unaugmented ones do, so G is
not pushed to produce augmented images ("non-leaking"); tests/training/test_ada.py checks
this on a trained G. ``p`` is tuned from the overfitting signal r_t = E[sign(D(real))]
over the last ``interval`` D steps: above ``target`` (D too sure of the training images)
p rises, below it p falls, at a rate that could take p from 0 to 1 in ``ramp_images``
real images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models.checks import is_number, require_positive_int, settings_node
from dcgan_lab.training.augment import TRANSFORMS


def flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (B, C, H, W)."""
    return x.flip(3)


OPS = {"flip": flip, **TRANSFORMS}


@dataclass(frozen=True)
class ADASettings:
    """The ``model.ada`` node. ``target`` (null: p stays at ``p``; StyleGAN2-ADA: 0.6),
    ``p`` (the starting probability), ``ops`` (names in ``OPS``), ``interval`` (D steps
    between adjustments; the paper's 4) and ``ramp_images`` (the paper's 500k suits its
    millions of images; runs here see about 175k, so the default is 50k: p can cross
    [0, 1] within a tenth of a default run's length)."""

    target: float | None = None
    p: float = 0.0
    ops: Sequence[str] = field(default_factory=lambda: ["flip", "translation", "cutout"])
    interval: int = 4
    ramp_images: int = 50_000

    @property
    def on(self) -> bool:
        return self.target is not None or self.p > 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ops": list(self.ops)}


def ada_settings(node: Mapping[str, Any] | None) -> ADASettings:
    """The ``ada`` node checked (one line naming the key each; the entry point adds
    ``model.``); None: off."""
    settings = settings_node("ada", node, ADASettings)
    target, p = settings.target, settings.p
    if target is not None and (not is_number(target) or not 0.0 < target < 1.0):
        raise ArgumentError(
            "ada.target", f"{{name}}={target!r} must be in (0, 1) (e.g. 0.6), or null: fixed p"
        )
    if not is_number(p) or not 0.0 <= p <= 1.0:
        raise ArgumentError("ada.p", f"{{name}}={p!r} must be a number in [0, 1] (e.g. 0.2)")
    ops = [settings.ops] if isinstance(settings.ops, str) else list(settings.ops)
    if not ops or any(op not in OPS for op in ops):
        raise ArgumentError(
            "ada.ops", f"{{name}}={settings.ops!r}: choose a list of {', '.join(OPS)}"
        )
    require_positive_int("ada.interval", settings.interval, example=4)
    require_positive_int("ada.ramp_images", settings.ramp_images, example=50_000)
    return ADASettings(target, float(p), ops, settings.interval, settings.ramp_images)


class AdaptiveAugment(nn.Module):
    """The augmentation and its controller. Buffers, so a checkpoint keeps p, the image
    counter and the half-gathered signal, and a resume continues exactly (a reset p is
    StyleGAN2-ADA's most reported resume bug)."""

    p: torch.Tensor  # () the ops' probability now
    images: torch.Tensor  # () real images D has scored (StyleGAN's kimg counter)
    signs: torch.Tensor  # () sum of sign(D(real)) since the last adjustment
    count: torch.Tensor  # () how many logits that sum covers
    steps: torch.Tensor  # () D steps on real images so far
    signal: torch.Tensor  # () r_t at the last adjustment (logged as train/ada_rt)

    def __init__(self, settings: ADASettings) -> None:
        super().__init__()
        self.settings = settings
        self.ops = [OPS[name] for name in settings.ops]
        self.register_buffer("p", torch.tensor(settings.p))
        for name in ("images", "signs", "count", "steps", "signal"):
            self.register_buffer(name, torch.zeros(()))
        # Host copies of p and the step count (None: read the buffers first, as after a
        # checkpoint loads): the D step decides on the host when p moves, reading p back
        # once per adjustment, and at p = 0 skips the ops entirely.
        self.p_host: float | None = None
        self.steps_host: int | None = None

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.p_host = self.steps_host = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> the same with each op applied to each image with
        probability p; differentiable, so G's gradients pass through."""
        if self.p_host is None:
            self.p_host = float(self.p)
        if self.p_host == 0.0:  # nothing to draw (StyleGAN2-ADA starts here)
            return images
        for op in self.ops:
            chosen = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < self.p
            images = torch.where(chosen, op(images), images)
        return images

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        """Gathers D's logits on a real batch (B,) and, every ``interval`` D steps, moves p
        by sign(r_t - target) * (images gathered) / ramp_images."""
        n = real_logits.numel()
        self.signs += real_logits.detach().sign().sum().float()
        self.count += n
        self.images += n
        self.steps += 1
        self.steps_host = int(self.steps) if self.steps_host is None else self.steps_host + 1
        if self.settings.target is None or self.steps_host % self.settings.interval:
            return
        signal = self.signs / self.count.clamp(min=1)
        step = torch.sign(signal - self.settings.target) * self.count / self.settings.ramp_images
        self.p.copy_((self.p + step).clamp(0.0, 1.0))
        self.signal.copy_(signal)
        self.signs.zero_()
        self.count.zero_()
        self.p_host = float(self.p)  # one read per adjustment
