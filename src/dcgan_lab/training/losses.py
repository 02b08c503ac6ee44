"""Adversarial losses on D's raw logits: the ``loss`` config group picks one.

Each gives D's loss as a real part plus a fake part (so D can be updated on real and fake
batches together or, as Keras' recipe does, one after the other) and G's loss on fake
logits. WGAN-GP adds a gradient penalty (``gp_weight``) and updates G only every
``n_critic`` batches; any loss can add the R1 penalty on real images (``r1_weight``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models.base import target_of
from dcgan_lab.models.checks import require_fraction, require_non_negative, require_positive_int


@dataclass
class GANLoss:
    """Non-saturating binary cross-entropy (the DCGAN paper's), the default.

    ``label_smoothing``: one-sided, real targets become 1 - s (fake targets stay 0).
    """

    label_smoothing: float = 0.0
    gp_weight: float = 0.0  # gradient penalty weight; WGAN-GP only
    n_critic: int = 1  # D updates per G update
    r1_weight: float = 0.0  # R1 penalty on real images (gamma); 0: off, any loss
    # Lazy R1 (StyleGAN2): the penalty on every r1_every-th D step only, weighted r1_every
    # times, so it costs 1/r1_every of its double backward at about the same strength.
    r1_every: int = 1
    # ACGAN (Odena et al. 2017): weight of an auxiliary classifier's cross-entropy on D's
    # features (D: real and fake; G: fake). Needs a conditional model; 0: off.
    ac_weight: float = 0.0
    # LeCam (Tseng et al. 2021): weight of the pull of D's logits towards moving averages
    # of its logits on the other kind of image (training/lecam.py); 0: off. lecam_decay:
    # those averages' decay per D step.
    lecam_weight: float = 0.0
    lecam_decay: float = 0.99

    def __post_init__(self) -> None:
        smoothing = require_non_negative("label_smoothing", self.label_smoothing, 0.1)
        if smoothing >= 0.5:
            raise ArgumentError(
                "label_smoothing", f"{{name}}={smoothing} must be below 0.5 (e.g. {{name}}=0.1)"
            )
        require_positive_int("n_critic", self.n_critic, example=5)
        require_non_negative("gp_weight", self.gp_weight, 10.0)
        require_non_negative("r1_weight", self.r1_weight, 1.0)
        require_positive_int("r1_every", self.r1_every, example=4)
        require_non_negative("ac_weight", self.ac_weight, 1.0)
        require_non_negative("lecam_weight", self.lecam_weight, 0.3)
        require_fraction("lecam_decay", self.lecam_decay, 0.99)

    def r1_weight_at(self, d_step: int) -> float:
        """R1's weight at D step ``d_step`` (0-based): lazy R1 skips all but every r1_every-th."""
        return self.r1_weight * self.r1_every if d_step % self.r1_every == 0 else 0.0

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss on real logits (B,) and fake logits (B,)."""
        return self.discriminator_real(real) + self.discriminator_fake(fake)

    def discriminator_real(self, real: torch.Tensor) -> torch.Tensor:
        return self.bce(real, 1.0 - self.label_smoothing)

    def discriminator_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return self.bce(fake, 0.0)

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return self.bce(fake, 1.0)

    def bce(self, logits: torch.Tensor, target: float) -> torch.Tensor:
        """Mean binary cross-entropy of sigmoid(logits) (B,) against a constant target."""
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@dataclass
class KerasBCELoss(GANLoss):
    """Keras' ``binary_crossentropy`` on a sigmoid output: the probability is clipped to
    [clip, 1 - clip] (Keras' epsilon, 1e-7) before the log. Where D is that sure, the clip
    also stops the gradient, which the logit form never does; ``experiment=keras`` uses this
    to take Keras' steps exactly. Other configs keep the logit form (stable under AMP).
    """

    clip: float = 1e-7

    def __post_init__(self) -> None:
        super().__post_init__()
        clip = require_non_negative("clip", self.clip, 1e-7)
        if clip >= 0.5:
            raise ArgumentError("clip", f"{{name}}={clip} must be below 0.5 (e.g. {{name}}=1e-7)")

    def bce(self, logits: torch.Tensor, target: float) -> torch.Tensor:
        probability = torch.sigmoid(logits).clamp(self.clip, 1.0 - self.clip)  # (B,)
        return F.binary_cross_entropy(probability, torch.full_like(probability, target))


def loss_spec(loss: GANLoss) -> dict[str, Any]:
    """The loss as a Hydra node, for checkpoints (``hydra.utils.instantiate`` rebuilds it)."""
    return {"_target_": target_of(type(loss)), **asdict(loss)}


class HingeLoss(GANLoss):
    """D: mean(relu(1 - real)) + mean(relu(1 + fake)); G: -mean(fake) (SAGAN, BigGAN)."""

    def discriminator_real(self, real: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real).mean()

    def discriminator_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 + fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


class LeastSquaresLoss(GANLoss):
    """LSGAN: D regresses real to 1 and fake to 0; G pulls fake to 1 (squared error)."""

    def discriminator_real(self, real: torch.Tensor) -> torch.Tensor:
        return 0.5 * (real - 1.0).square().mean()

    def discriminator_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * fake.square().mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake - 1.0).square().mean()


class WassersteinGPLoss(GANLoss):
    """WGAN-GP: D maximises mean(real) - mean(fake); G maximises mean(fake).

    The gradient penalty (``gradient_penalty``, weight ``gp_weight``, 10 in the paper) is
    added by the module, which has D at hand; ``n_critic`` D steps per G step (paper: 5).
    """

    def discriminator_real(self, real: torch.Tensor) -> torch.Tensor:
        return -real.mean()

    def discriminator_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """mean((||grad_x D(x)||_2 - 1)^2) at random points x between real and fake (B, C, H, W)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).square().mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """mean ||grad_x D(x)||^2 over real images x (B, C, H, W) (Mescheder et al. 2018).

    ``real`` must require grad before D saw it; ``real_logits`` (B,) are D's outputs on it.
    Penalising D's slope on the data keeps it from growing sharp around the training images.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).square().sum(dim=1).mean()
