"""dcgan-lab: config-driven DCGAN experiments with Lightning, Hydra and W&B.

``from dcgan_lab import train, sample, evaluate``: the commands as functions (``api.py``),
imported on first use so that ``import dcgan_lab`` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["evaluate", "sample", "train"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dcgan_lab import api

        return getattr(api, name)
    raise AttributeError(f"module 'dcgan_lab' has no attribute {name!r}")
