"""What may be built from a ``_target_`` read back from a run folder or a checkpoint.

A run folder is data: its replayed overrides, its ``config.yaml`` and a checkpoint's network
nodes must not name an arbitrary callable (``builtins.open``, ``shutil.copyfile``) for Hydra
to call. Only this package's classes, its config factories and torch's optimizers are built;
a dotted path is resolved first and the object judged, so ``dcgan_lab.x.os.remove`` (a module
the package imports, reached through it) is refused too.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dcgan_lab.errors import UserError

# Package functions the configs build through (``conf/metrics``, ``conf/logger``).
FACTORIES = (
    "dcgan_lab.metrics.build.build_sample_quality",
    "dcgan_lab.runs.wandb_logger.build_wandb_logger",
    "dcgan_lab.runs.mlflow_logger.build_mlflow_logger",
)
# Outside classes the configs build: Lightning's trainer and checkpoint callback.
OUTSIDE_CLASSES = ("pytorch_lightning.Trainer", "pytorch_lightning.callbacks.ModelCheckpoint")


def targets_in(node: Any) -> Iterator[str]:
    """Every ``_target_`` value in a nested config node (mappings and lists)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "_target_":
                yield str(value)
            else:
                yield from targets_in(value)
    elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
        for item in node:
            yield from targets_in(item)


def buildable(target: str) -> bool:
    """True for this package's classes and factories, torch optimizers and the Lightning
    classes the configs use; False for anything else or a path that does not resolve."""
    import torch
    from hydra.utils import get_object

    try:
        found = get_object(target)
    except Exception:
        return False
    name = f"{getattr(found, '__module__', '')}.{getattr(found, '__qualname__', '')}"
    if inspect.isclass(found):
        if found.__module__.startswith("dcgan_lab."):
            return True
        if issubclass(found, torch.optim.Optimizer):
            return True
        return any(found is get_object(allowed) for allowed in OUTSIDE_CLASSES)
    return inspect.isfunction(found) and name in FACTORIES


def require_buildable(node: Any, source: str) -> None:
    """UserError naming the first ``_target_`` in ``node`` that may not be built."""
    for target in targets_in(node):
        if not buildable(target):
            raise UserError(
                f"{source} names {target} to build, which is not a class of dcgan_lab or a "
                "torch optimizer; not running it (was the file edited?)"
            )
