"""What every generator and discriminator shares: its build spec and the conditional parts.

A subclass builds its layers, then the base adds what conditioning needs:
- ``Generator``: with ``conditional``, a learned label embedding (num_classes, label_dim) is
  concatenated to z, so the first layer takes ``input_dim = latent_dim + label_dim`` numbers;
  with ``label_norm`` too, each BatchNorm is followed by a per-class scale and shift
  (``label_affine``; ``models/label_norm.py``).
- ``Discriminator``: ``feature_map`` maps images to (B, C, h, w); the base's linear head reads
  it flattened and gives the logit, and with ``conditional`` a projection head adds
  <embed(y), phi(x)>, phi the map summed over its positions (B, C) (Miyato & Koyama 2018,
  "cGANs with projection discriminator", as their ResNet D's global sum pooling). With
  ``minibatch_std`` the linear head also reads the spread of the image's group
  (``models/minibatch_std.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from dcgan_lab.errors import ArgumentError, UserError
from dcgan_lab.models.checks import require_flag, require_positive_int
from dcgan_lab.models.label_norm import LabelAffine
from dcgan_lab.models.minibatch_std import with_minibatch_std
from dcgan_lab.targets import require_buildable


def target_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


T = TypeVar("T")


def from_spec(spec: object, kind: type[T]) -> T:
    """``spec`` as is when it is already a ``kind``; else build it from its saved node.

    Only this package's classes are built (``targets``), so a checkpoint cannot name an
    arbitrary callable to run.
    """
    if isinstance(spec, kind):
        return spec
    node = dict(spec) if isinstance(spec, Mapping) else {}
    target = str(node.get("_target_", ""))
    if not target:
        raise UserError("the checkpoint names no class to build; not loading it")
    require_buildable(node, "the checkpoint")
    import hydra  # here: the networks themselves need no Hydra

    built = hydra.utils.instantiate(node)
    if not isinstance(built, kind):
        raise UserError(f"the checkpoint's {target} is not a {kind.__name__}; not loading it")
    return built


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
        label_norm: bool = False,
        **arguments: Any,
    ) -> None:
        super().__init__(
            latent_dim=latent_dim, channels=channels, image_size=image_size,
            conditional=conditional, num_classes=num_classes, label_dim=label_dim,
            label_norm=label_norm, **arguments,
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
        self.label_norm = require_flag("label_norm", label_norm)
        if label_norm and not self.num_classes:
            raise ArgumentError(
                "label_norm", "{name}=true needs a conditional model: add model.conditional=true"
            )

    def label_affine(self, features: int) -> list[nn.Module]:
        """What follows a BatchNorm of ``features``: its per-class scale and shift with
        ``label_norm``, else nothing. Subclasses run blocks holding one with ``run_block``."""
        return [LabelAffine(features, self.num_classes)] if self.label_norm else []

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            z = torch.cat([z, self.label_embedding(labels)], dim=1)  # (B, latent + label_dim)
        return self.synthesize(z, labels)

    def synthesize(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(B, input_dim) [and labels (B,) for ``label_affine`` layers] -> (B, C, H, W): the
        architecture itself."""
        raise NotImplementedError

    def folded_biases(self) -> dict[str, str]:
        """Bias-free linear and conv layers whose output goes straight into a BatchNorm (which
        would cancel a bias), each mapped to that BatchNorm, e.g. ``{"project.0":
        "project.1"}``: checkpoints that have such a bias load with it folded into the
        BatchNorm's running mean (``runs/checkpoints.fold_norm_biases``)."""
        found: dict[str, str] = {}
        for prefix, block in self.named_modules():
            if not isinstance(block, nn.Sequential):
                continue
            for (i, layer), (j, after) in itertools.pairwise(enumerate(block)):
                weighted = isinstance(layer, nn.Linear | nn.modules.conv._ConvNd)
                norm = isinstance(after, nn.modules.batchnorm._BatchNorm)
                if weighted and norm and layer.bias is None:
                    found[f"{prefix}.{i}"] = f"{prefix}.{j}"
        return found


class Discriminator(Network):
    """images (B, C, H, W) [and labels (B,) when conditional] -> real/fake logits (B,).

    Subclasses build ``feature_map`` (images -> (B, C, h, w)) and call ``add_heads(C, h*w)``.
    The sigmoid lives in the loss. ``pooled`` is public: ACGAN's auxiliary classifier reads it.
    """

    classify: nn.Linear

    def __init__(
        self,
        channels: int,
        image_size: int,
        conditional: bool = False,
        num_classes: int | None = None,
        spectral_norm: bool = False,
        minibatch_std: int = 0,
        **arguments: Any,
    ) -> None:
        super().__init__(
            channels=channels, image_size=image_size, conditional=conditional,
            num_classes=num_classes, spectral_norm=spectral_norm, minibatch_std=minibatch_std,
            **arguments,
        )  # fmt: skip
        self.channels = require_positive_int("channels", channels, 1)
        self.image_size = require_positive_int("image_size", image_size, 28)
        self.num_classes = require_classes(conditional, num_classes)
        self.minibatch_std = require_group(minibatch_std)
        self.label_projection: nn.Embedding | None = None
        self.pooled_dim = 0  # channels of the feature map: the projection's size

    def add_heads(self, channels: int, positions: int, bias: bool = True) -> None:
        """The logit head ((channels [+ 1 spread map]) * positions -> 1) and, when
        conditional, the projection embedding (classes, channels)."""
        self.pooled_dim = channels
        read = channels + (1 if self.minibatch_std else 0)
        self.classify = nn.Linear(read * positions, 1, bias=bias)
        if self.num_classes:
            self.label_projection = nn.Embedding(self.num_classes, channels)

    def finish(self, init: Any) -> None:
        """Initialise the weights with ``init``, then apply spectral norm if asked."""
        self.apply(init)
        if self.label_projection is not None:
            nn.init.normal_(self.label_projection.weight, 0.0, 0.02)
        if self.arguments["spectral_norm"]:  # after init: it reparametrises those weights
            self.apply(add_spectral_norm)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> features (B, C, h, w)."""
        raise NotImplementedError

    @property
    def batch_independent(self) -> bool:
        """True when each image's logit depends on that image alone (no BatchNorm, no
        minibatch spread), so batches can be joined into one pass without changing any result."""
        return not self.minibatch_std and not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules()
        )

    @staticmethod
    def pooled(features: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, C): the map summed over its positions."""
        return features.sum(dim=(2, 3))

    def logits(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """features (B, C, h, w) -> logits (B,), plus the label projection when conditional."""
        read = with_minibatch_std(features, self.minibatch_std) if self.minibatch_std else features
        out = self.classify(read.flatten(1)).squeeze(1)
        if self.label_projection is not None:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels")
            out = out + (self.label_projection(labels) * self.pooled(features)).sum(dim=1)
        return out

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits(self.feature_map(images), labels)


def require_classes(conditional: bool, num_classes: int | None) -> int:
    """The class count a conditional network embeds; 0 when unconditional."""
    if not conditional:
        return 0
    if num_classes is None:
        raise UserError(
            "model.conditional=true needs labelled data (data.num_classes is unset: "
            "an image folder needs one subfolder per class), or use model.conditional=clusters "
            "(classes found by clustering)"
        )
    return require_positive_int("num_classes", num_classes, 10)


def require_group(value: object) -> int:
    """``minibatch_std``: 0 (off) or a group of at least 2 images."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value == 1:
        raise ArgumentError(
            "minibatch_std",
            f"{{name}}={value!r} must be 0 (off) or a group size >= 2 (e.g. {{name}}=4)",
        )
    return value


def add_spectral_norm(module: nn.Module) -> None:
    """Constrain a conv or linear layer's largest singular value to ~1 (Miyato et al. 2018).

    Use as ``discriminator.apply(add_spectral_norm)``; one power iteration per training
    forward refines the estimate (torch's parametrization).
    """
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.utils.parametrizations.spectral_norm(module)
