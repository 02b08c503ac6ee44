"""Mode-seeking regularisation (Mao et al. 2019, "Mode Seeking Generative Adversarial
Networks for Diverse Image Synthesis"), against the within-class collapse of conditional
GANs: for two latents z1, z2 with the same label, G is rewarded for images that differ as
much as the latents do,

    ratio = mean|G(z1, y) - G(z2, y)| / mean|z1 - z2|,    G's loss += weight / (ratio + eps)

(eps 1e-5, as the paper's code). With ``fade`` > 0 the weight falls linearly to 0 over that
last share of the run (by epochs or time budget, as the EMA's span measures it): variety
is sought early and the last stretch refines the images the earlier one spread apart.
The module draws the twin z2 for each training latent and runs both through G as one
batch; D scores only the first half, so in pixels the term costs G's pass on the twins.
With ``space="discriminator"`` the distance is taken between D's last feature maps of the
two fakes instead, relative to their mean magnitude (so a weight means about what it means
in pixels, whose magnitude in [-1, 1] images is about 1): images that differ in what D sees
rather than in any pixels. That costs a D pass (forward and backward) on both halves; with
a plain critic (``AdversarialObjective.critic_is_plain``) the fakes' logits come from the
same pass.
Paper weight: 1, in pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch

from dcgan_lab.models.checks import (
    require_choice,
    require_non_negative,
    require_unit_interval,
    settings_node,
)

EPS = 1e-5
SPACES = ("pixels", "discriminator")  # where the two fakes' distance is measured


class Twins(NamedTuple):
    """The twin fakes G(z2, y) (B, C, H, W), with G's graph, and mean|z1 - z2| ()."""

    images: torch.Tensor
    latent_gap: torch.Tensor


@dataclass(frozen=True)
class ModeSeekingSettings:
    """The ``model.mode_seeking`` node; ``weight`` 0: off."""

    weight: float = 0.0
    fade: float = 0.0
    space: str = "pixels"

    def weight_at(self, progress: float) -> float:
        """The weight when ``progress`` (0..1) of the run is done."""
        if not self.fade:
            return self.weight
        return self.weight * min(1.0, max(0.0, (1.0 - progress) / self.fade))

    def penalty(self, fake: torch.Tensor, twins: Twins, progress: float = 0.0) -> torch.Tensor:
        """``weight / (ratio + eps)`` for fakes (B, ...) and their twins (same shape): the
        images in pixels, D's feature maps of them in ``discriminator`` space; at
        ``progress`` (0..1) of the run."""
        gap = (fake - twins.images).abs().mean()
        if self.space == "discriminator":  # relative: D's features have no fixed scale
            gap = gap / ((fake.abs().mean() + twins.images.abs().mean()) / 2).detach()
        return self.weight_at(progress) / (gap / twins.latent_gap + EPS)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mode_seeking_settings(node: Mapping[str, Any] | None) -> ModeSeekingSettings:
    """The node checked (one line naming the key; the entry point adds ``model.``)."""
    settings = settings_node("mode_seeking", node, ModeSeekingSettings)
    weight = require_non_negative("mode_seeking.weight", settings.weight)
    # a fade of 1 (over the whole run) is valid: require_fraction's [0, 1) would refuse it
    fade = require_unit_interval("mode_seeking.fade", settings.fade, 0.5, zero=True, one=True)
    space = require_choice("mode_seeking.space", settings.space, SPACES)
    return ModeSeekingSettings(weight, fade, space)


def with_twins(
    generator: torch.nn.Module, z: torch.Tensor, labels: torch.Tensor | None, twin_z: torch.Tensor
) -> tuple[torch.Tensor, Twins]:
    """G on the latents z (B, Z) and their twins twin_z (B, Z), same labels (B,) or None,
    as one batch: the fakes (B, C, H, W) and their ``Twins``."""
    both_labels = None if labels is None else labels.repeat(2)  # (2B,)
    fake, twin = generator(torch.cat([z, twin_z]), both_labels).chunk(2)  # (B, C, H, W) each
    return fake, Twins(twin, (z - twin_z).abs().mean())
