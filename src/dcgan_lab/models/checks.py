"""Argument checks shared by the networks and losses, so a bad value fails before training.

Each names the argument as its constructor does (``width``); the entry points add where it
sits in the config (``model.generator.width``): see ``errors.ArgumentError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeGuard, TypeVar

from dcgan_lab.errors import ArgumentError, UserError

T = TypeVar("T")


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, not a bool (YAML's true is an int to Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def settings_node(name: str, node: Mapping[str, Any] | None, settings: type[T]) -> T:
    """A config node (``model.ema``) as its settings dataclass, an unknown key refused
    with one line that lists the known ones; None: the defaults."""
    given = dict(node or {})
    known = [f.name for f in fields(settings)]  # type: ignore[arg-type]
    for key in given:
        if key not in known:
            raise ArgumentError(name, f"{{name}}.{key} is not a setting: use {', '.join(known)}")
    return settings(**given)


def require_positive_int(name: str, value: object, example: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(
            name, f"{{name}}={value!r} must be a positive integer (e.g. {{name}}={example})"
        )
    return value


def require_flag(name: str, value: object) -> bool:
    """A switch: YAML's true or false, not 1 or 'yes'."""
    if not isinstance(value, bool):
        raise ArgumentError(name, f"{{name}}={value!r}: use true or false")
    return value


def require_int(key: str, value: object, minimum: int, example: object) -> None:
    """For values checked outside any constructor (run settings, ``metrics.*``), so named by
    their full config key."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{key}={value!r} must be an integer >= {minimum} (e.g. {key}={example})")


def require_fraction(name: str, value: object, example: float = 0.3) -> float:
    """A number in [0, 1): dropout rates, label smoothing bounds."""
    if not is_number(value) or not 0.0 <= value < 1.0:
        raise ArgumentError(
            name, f"{{name}}={value!r} must be a number in [0, 1) (e.g. {{name}}={example})"
        )
    return float(value)


def require_unit_interval(
    name: str, value: object, example: float, *, zero: bool, one: bool
) -> float:
    """A number between 0 and 1, with 0 and 1 themselves allowed as ``zero`` and ``one`` say:
    shares of a run or a batch (top-k's kept share, mode seeking's fade)."""
    interval = f"{'[' if zero else '('}0, 1{']' if one else ')'}"
    if (
        not is_number(value)
        or not (value >= 0.0 if zero else value > 0.0)
        or not (value <= 1.0 if one else value < 1.0)
    ):
        raise ArgumentError(
            name, f"{{name}}={value!r} must be in {interval} (e.g. {{name}}={example})"
        )
    return float(value)


def require_non_negative(name: str, value: object, example: float = 1.0) -> float:
    if not is_number(value) or not value >= 0:
        raise ArgumentError(
            name, f"{{name}}={value!r} must be a number >= 0 (e.g. {{name}}={example})"
        )
    return float(value)


# A network's image side follows data.image_size (conf/model/*.yaml): advise that key, since
# setting one network's side alone leaves the other network and the data disagreeing.
SIDE_ADVICE = "set data.image_size={example} (the data are resized, both networks follow it)"


def require_image_side(value: object, divisor: int, example: int) -> int:
    """An image side divisible by ``divisor``, else an error that advises data.image_size."""
    require_positive_int("image_size", value, example)
    assert isinstance(value, int)
    if value % divisor:
        advice = SIDE_ADVICE.format(example=example)
        raise ArgumentError(
            "image_size", f"{{name}}={value} must be divisible by {divisor}: {advice}"
        )
    return value


def require_power_of_two_times_four(name: str, value: object, example: int = 32) -> int:
    """8, 16, 32, 64, ...: the sides a stack of stride-2 layers reaches from 4x4."""
    require_positive_int(name, value, example)
    assert isinstance(value, int)
    if value < 8 or value & (value - 1):
        raise ArgumentError(
            name,
            f"{{name}}={value}: these networks need a power of two >= 8: "
            + SIDE_ADVICE.format(example=example),
        )
    return value


def require_choice(name: str, value: object, choices: Sequence[T]) -> T:
    """``value`` if it is one of ``choices``, else one line naming the argument (the entry
    point adds where it sits in the config) and every choice."""
    if value not in choices:
        raise ArgumentError(
            name, f"{{name}}={value!r}: choose one of {', '.join(map(str, choices))}"
        )
    return next(choice for choice in choices if choice == value)
