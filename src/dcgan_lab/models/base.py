"""What every generator and discriminator shares: its build spec and the conditional parts.

A subclass builds its layers, then the base adds what conditioning needs:
- ``Generator``: with ``conditional``, a learned label embedding (num_classes, label_dim) is
  concatenated to z, so the first layer takes ``input_dim = latent_dim + label_dim`` numbers.
- ``Discriminator``: ``embed`` maps images to features (B, F); the base's linear head gives
  the logit, and with ``conditional`` a projection head adds <embed(y), features>
  (Miyato & Koyama 2018, "cGANs with projection discriminator").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dcgan_lab.errors import UserError
from dcgan_lab.models.checks import require_positive_int


def target_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Network(nn.Module):
    """A network that remembers its constructor arguments: ``spec()`` rebuilds it.

    Checkpoints store the spec (a Hydra ``_target_`` node), so sampling and evaluation
    rebuild any architecture without the run's config.
    """

    def __init__(self, **arguments: Any) -> None:
        super().__init__()
        self.arguments = arguments

    def spec(self) -> dict[str, Any]:
        return {"_target_": target_of(type(self)), **self.arguments}


class Generator(Network):
    """z (B, latent_dim) [and labels (B,) when conditional] -> images (B, C, H, W) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        image_size: int,
        conditional: bool = False,
        num_classes: int | None = None,
        label_dim: int = 16,
        **arguments: Any,
    ) -> None:
        super().__init__(
            latent_dim=latent_dim, channels=channels, image_size=image_size,
            conditional=conditional, num_classes=num_classes, label_dim=label_dim, **arguments,
        )  # fmt: skip
        self.latent_dim = require_positive_int("latent_dim", latent_dim, 100)
        self.channels = require_positive_int("channels", channels, 1)
        self.image_size = require_positive_int("image_size", image_size, 28)
        self.num_classes = require_classes(conditional, num_classes)
        self.label_embedding: nn.Embedding | None = None
        self.input_dim = self.latent_dim
        if self.num_classes:
            self.label_embedding = nn.Embedding(self.num_classes, label_dim)
            self.input_dim += require_positive_int("label_dim", label_dim, 16)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            z = torch.cat([z, self.label_embedding(labels)], dim=1)  # (B, latent + label_dim)
        return self.synthesize(z)

    def synthesize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, input_dim) -> (B, C, H, W): the architecture itself."""
        raise NotImplementedError


class Discriminator(Network):
    """images (B, C, H, W) [and labels (B,) when conditional] -> real/fake logits (B,).

    Subclasses build ``embed`` (images -> features (B, F)) and call ``add_heads(F)``. The
    sigmoid lives in the loss. ``embed`` is public: ACGAN's auxiliary classifier reads it.
    """

    classify: nn.Linear

    def __init__(
        self,
        channels: int,
        image_size: int,
        conditional: bool = False,
        num_classes: int | None = None,
        spectral_norm: bool = False,
        **arguments: Any,
    ) -> None:
        super().__init__(
            channels=channels, image_size=image_size, conditional=conditional,
            num_classes=num_classes, spectral_norm=spectral_norm, **arguments,
        )  # fmt: skip
        self.channels = require_positive_int("channels", channels, 1)
        self.image_size = require_positive_int("image_size", image_size, 28)
        self.num_classes = require_classes(conditional, num_classes)
        self.label_projection: nn.Embedding | None = None
        self.feature_dim = 0

    def add_heads(self, feature_dim: int, bias: bool = True) -> None:
        """The logit head (F -> 1) and, when conditional, the projection embedding (C, F)."""
        self.feature_dim = feature_dim
        self.classify = nn.Linear(feature_dim, 1, bias=bias)
        if self.num_classes:
            self.label_projection = nn.Embedding(self.num_classes, feature_dim)

    def finish(self, init: Any) -> None:
        """Initialise the weights with ``init``, then apply spectral norm if asked."""
        self.apply(init)
        if self.label_projection is not None:
            nn.init.normal_(self.label_projection.weight, 0.0, 0.02)
        if self.arguments["spectral_norm"]:  # after init: it reparametrises those weights
            self.apply(add_spectral_norm)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> features (B, F)."""
        raise NotImplementedError

    def logits(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """features (B, F) -> logits (B,), plus the label projection when conditional."""
        out = self.classify(features).squeeze(1)
        if self.label_projection is not None:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels")
            out = out + (self.label_projection(labels) * features).sum(dim=1)
        return out

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits(self.embed(images), labels)


def require_classes(conditional: bool, num_classes: int | None) -> int:
    """The class count a conditional network embeds; 0 when unconditional."""
    if not conditional:
        return 0
    if not num_classes:
        raise UserError(
            "model.conditional=true needs labelled data (data.num_classes is unset: "
            "an image folder needs one subfolder per class)"
        )
    return require_positive_int("num_classes", num_classes, 10)


def add_spectral_norm(module: nn.Module) -> None:
    """Constrain a conv or linear layer's largest singular value to ~1 (Miyato et al. 2018).

    Use as ``discriminator.apply(add_spectral_norm)``; one power iteration per training
    forward refines the estimate (torch's parametrization).
    """
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.utils.parametrizations.spectral_norm(module)
