"""Consistency regularisation (Zhao et al. 2021, "Improved Consistency Regularization for
GANs"), two terms, each off at weight 0:

- bCR: D should score an image and its translated copy alike, on real and fake images:
  ``bcr_weight * (mean((D(x) - D(T(x)))^2) + the same on fakes)`` in D's loss. T shifts by
  whole pixels (up to 1/8 of the side); the paper also mirrors, which digits do not allow.
- zCR: a nearby latent ``z + sigma * eps`` (``zcr_sigma``) should change D's score little,
  ``zcr_weight * mean((D(G(z)) - D(G(z')))^2)`` in D's loss, while G is pushed to make the
  two images differ, ``- zcr_generator_weight * mean((G(z) - G(z'))^2)`` in G's loss (against
  mode collapse). Paper weights: bCR 10, zCR 5 (D) and 0.5 (G), sigma 0.03.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models.checks import require_non_negative, settings_node
from dcgan_lab.training.augment import translation

bcr_transform = translation


@dataclass(frozen=True)
class ConsistencySettings:
    """The ``model.consistency`` node (see the module's text)."""

    bcr_weight: float = 0.0
    zcr_weight: float = 0.0
    zcr_generator_weight: float = 0.5
    zcr_sigma: float = 0.03

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def consistency_settings(node: Mapping[str, Any] | None) -> ConsistencySettings:
    """The node checked (one line naming the key each; the entry point adds ``model.``)."""
    settings = settings_node("consistency", node, ConsistencySettings)
    for key, example in asdict(ConsistencySettings(10.0, 5.0, 0.5, 0.03)).items():
        require_non_negative(f"consistency.{key}", getattr(settings, key), example)
    if settings.zcr_weight and not settings.zcr_sigma:
        raise ArgumentError(
            "consistency.zcr_sigma", "{name}=0 gives zCR no nearby latent: use e.g. {name}=0.03"
        )
    return ConsistencySettings(**{k: float(v) for k, v in asdict(settings).items()})
