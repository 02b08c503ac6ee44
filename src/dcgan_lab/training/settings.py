"""The module's own switches, checked when it is built (one line naming the key each):
the step recipe, the speed switches, and that the networks agree on conditioning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dcgan_lab.errors import ArgumentError, UserError
from dcgan_lab.models.base import Discriminator, Generator
from dcgan_lab.models.checks import is_number, require_choice, require_flag
from dcgan_lab.training.consistency import ConsistencySettings
from dcgan_lab.training.losses import GANLoss
from dcgan_lab.training.mode_seeking import ModeSeekingSettings

STEPS = ("joint", "keras")
CONDITIONING = (False, True, "clusters")
SPEED = {"compile": False, "channels_last": False}


def speed_settings(node: Mapping[str, Any] | None) -> dict[str, bool]:
    """The ``speed`` node: switches that change how fast, never what, the module computes."""
    given = dict(node or {})
    for key, value in given.items():
        if key not in SPEED:
            advice = "use compile or channels_last"
            raise ArgumentError("speed", f"{{name}}.{key} is not a switch: {advice}")
        require_flag(f"speed.{key}", value)
    return {**SPEED, **given}


def require_step(
    step: str, loss: GANLoss, consistency: ConsistencySettings, mode_seeking: ModeSeekingSettings
) -> None:
    require_choice("step", step, STEPS)
    if step != "keras":
        return
    if loss.gp_weight:
        raise UserError(
            "step=keras updates D on real and fake batches apart, but WGAN-GP's penalty needs "
            "both: use model.step=joint with loss=wgan_gp"
        )
    # The terms that need G's fakes from a second set of latents, which step=keras never draws.
    second_fakes = {
        "model.consistency.zcr_weight": ("second set of fakes for zCR", consistency.zcr_weight),
        "model.mode_seeking.weight": ("twin fakes for mode seeking", mode_seeking.weight),
    }
    for key, (what, weight) in second_fakes.items():
        if weight:
            raise UserError(
                f"step=keras draws no {what}: use model.step=joint with {key}, or set it to 0"
            )


def require_conditioning(
    conditional: bool | str, generator: Generator, discriminator: Discriminator
) -> int:
    """The class count both networks condition on (0: unconditional); they must agree.
    ``conditional``: false, true (the data's labels) or clusters (self-conditioning)."""
    if conditional not in CONDITIONING or is_number(conditional):  # 1 == True, yet no switch
        raise ArgumentError(
            "conditional",
            f"{{name}}={conditional!r}: choose false, true (the data's labels) or "
            "clusters (clusters of D's features)",
        )
    classes = {generator.num_classes, discriminator.num_classes}
    if len(classes) > 1 or bool(generator.num_classes) != bool(conditional):
        raise UserError(
            f"conditional={conditional} but the generator conditions on {generator.num_classes} "
            f"classes and the discriminator on {discriminator.num_classes}; build both with "
            "conditional and num_classes from the model config (conf/model/*.yaml)"
        )
    return generator.num_classes
