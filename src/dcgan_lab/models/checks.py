"""Argument checks shared by the networks and losses, so a bad value fails before training."""

from __future__ import annotations

from dcgan_lab.errors import UserError


def require_positive_int(name: str, value: object, example: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UserError(f"{name}={value!r} must be a positive integer (e.g. {name}={example})")
    return value


def require_dropout(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise UserError(f"{name}={value!r} must be a number in [0, 1) (e.g. {name}=0.3)")
    return float(value)


def require_image_size(size: int) -> int:
    # Two stride-2 stages halve the side twice, so the side must be divisible by 4.
    require_positive_int("data.image_size", size)
    if size % 4:
        raise UserError(f"data.image_size={size} must be divisible by 4 (e.g. 28)")
    return size
