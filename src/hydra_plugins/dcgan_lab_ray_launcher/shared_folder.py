"""Hydra's Ray launcher, with each job's folder fixed as an absolute path.

A Ray worker resolves a relative ``hydra.sweep.dir`` against its own working folder, which
is not the one ``dcgan-train`` was started in: the jobs would write their run folders
elsewhere, and the launching process would count no job. Each job is given the sweep
folder as the launching process sees it (a path the cluster must share), then the plugin
(hydra-ray-launcher) runs it. Importing this module does not import Ray.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from dcgan_lab.errors import UserError
from dcgan_lab.runs.network import answers
from dcgan_lab.runs.resume import quoted


class SharedFolderRayLauncher(Launcher):
    """The plugin's ``RayLauncher`` (its ``ray.init`` and ``ray.remote`` settings)."""

    def __init__(self, ray: DictConfig) -> None:
        self.ray_cfg = ray
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        try:
            from hydra_plugins.hydra_ray_launcher import _core
        except ImportError:
            raise UserError(
                "hydra/launcher=ray needs Ray and Hydra's Ray launcher, which are not "
                "installed: pip install 'dcgan-lab[ray]'"
            ) from None
        assert self.config is not None  # set by setup()
        require_cluster(self.ray_cfg.get("init", {}).get("address"))
        sweep = Path(str(self.config.hydra.sweep.dir)).absolute()
        pinned = [[*overrides, f"hydra.sweep.dir={quoted(sweep)}"] for overrides in job_overrides]
        try:
            launched: Any = _core.launch(self, pinned, initial_job_idx)  # type: ignore[arg-type,unused-ignore]
        except ConnectionError as err:  # address=auto and no cluster found
            raise UserError(
                f"no Ray cluster to run the sweep on ({str(err).splitlines()[0]}); start one "
                "(ray start --head) or name it: hydra.launcher.ray.init.address=HOST:6379"
            ) from None
        return list(launched)


def require_cluster(address: object, timeout_s: float = 2.0) -> None:
    """A HOST:PORT address must answer a TCP connect now (Ray would retry for minutes)."""
    if not isinstance(address, str) or address in ("auto", "local") or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    if port.isdigit() and answers(host, int(port), timeout_s):
        return
    raise UserError(
        f"hydra.launcher.ray.init.address={address}: no Ray cluster answers there; start "
        f"its head first (ray start --head --port={port})"
    )
