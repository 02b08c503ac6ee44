"""W&B logger construction that never hangs: offline whenever no login or no server."""

from __future__ import annotations

import configparser
import netrc
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from pytorch_lightning.loggers import WandbLogger

from dcgan_lab.errors import UserError
from dcgan_lab.runs.identity import hydra_identity
from dcgan_lab.runs.network import url_answers
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.runs.run_log import say

DEFAULT_BASE_URL = "https://api.wandb.ai"


def settings_files(env: dict[str, str], cwd: Path) -> list[Path]:
    """W&B's settings files, the one that wins first: the workspace's (``wandb offline``
    writes ``./wandb/settings``), then the user's (``~/.config/wandb/settings``)."""
    workspace = Path(env.get("WANDB_DIR", cwd)) / "wandb" / "settings"
    config_dir = env.get("WANDB_CONFIG_DIR") or Path.home() / ".config" / "wandb"
    return [workspace, Path(config_dir) / "settings"]


def user_setting(env: dict[str, str], cwd: Path, key: str) -> tuple[str, str] | None:
    """(value, where) of a W&B setting the user made: the environment, then the files."""
    variable = f"WANDB_{key.upper()}"
    if env.get(variable):
        return env[variable], f"set by {variable}"
    for path in settings_files(env, cwd):
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue  # W&B would not read it either
        value = parser.get("default", key, fallback="").strip()
        if value:
            return value, f"set in {path}"
    return None


def base_url(env: dict[str, str], cwd: Path) -> str:
    found = user_setting(env, cwd, "base_url")
    return found[0] if found else DEFAULT_BASE_URL


def has_api_key(env: dict[str, str], cwd: Path | None = None) -> bool:
    """True if W&B has a key: ``WANDB_API_KEY`` or a netrc entry for the W&B host."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(base_url(env, cwd or Path.cwd())).hostname or ""
    path = Path(env.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(str(path)).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def server_reachable(env: dict[str, str], timeout_s: float = 2.0, cwd: Path | None = None) -> bool:
    """A TCP connect to the W&B server within ``timeout_s``; False on any failure."""
    return url_answers(base_url(env, cwd or Path.cwd()), timeout_s)


MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
         "disabled": "disabled"}  # fmt: skip


def choose_wandb_mode(
    env: dict[str, str], offline: bool | None, cwd: Path | None = None
) -> tuple[str, str]:
    """(mode, reason): 'online', 'offline' or 'disabled'. The user's choices win, in W&B's
    own order: ``logger.wandb.offline``, ``WANDB_MODE``, then the settings files that
    ``wandb offline`` / ``wandb online`` write.

    Otherwise online when possible: without a key a non-interactive ``wandb.init`` raises
    instead of going offline, and an unreachable server makes it wait; both are detected
    here, before wandb starts.
    """
    cwd = cwd or Path.cwd()
    if offline is not None:
        return ("offline" if offline else "online"), "set by logger.wandb.offline"
    chosen = user_setting(env, cwd, "mode")
    if chosen is not None and chosen[0] in MODES:
        return MODES[chosen[0]], chosen[1]
    if not has_api_key(env, cwd):
        return "offline", "no W&B API key (run `wandb login` to log online)"
    if not server_reachable(env, cwd=cwd):
        return "offline", f"W&B server {base_url(env, cwd)} unreachable"
    return "online", "logged in and server reachable"


def build_wandb_logger(
    offline: bool | None = None,
    name: str | None = None,
    group: str | None = None,
    **kwargs: Any,
) -> WandbLogger:
    """A Lightning WandbLogger in the mode ``choose_wandb_mode`` picks, with a one-line notice.

    Unset ``name`` and ``group`` come from Hydra (``hydra_identity``).
    """
    for key in ("project", "entity"):
        require_wandb_name(key, kwargs.get(key))
    mode, reason = choose_wandb_mode(dict(os.environ), offline)
    if mode == "offline":
        say(f"W&B: offline ({reason}); upload later with `wandb sync <run dir>/wandb/offline-*`")
    elif mode == "disabled":
        say(f"W&B: disabled ({reason}); nothing is logged to W&B")
    default_name, default_group = hydra_identity()
    save_dir = Path(kwargs.get("save_dir", "."))
    save_dir.mkdir(parents=True, exist_ok=True)
    earlier_id = previous_run_id(save_dir)
    if earlier_id and not kwargs.get("id"):
        # A resumed run (same run dir) continues the W&B run its first process started.
        kwargs.update(id=earlier_id, resume="allow")
    return ProjectWandbLogger(
        mode=mode, name=name or default_name, group=group or default_group, **kwargs
    )


NAME_FORBIDDEN = "/\\#?%:"  # W&B refuses these in project and entity names


def require_wandb_name(key: str, value: Any) -> None:
    """W&B's own rules for a project or entity name, checked before the run folder is
    written (W&B itself checks at its first log, with a traceback)."""
    if value is None and key == "entity":
        return
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    bad = [c for c in NAME_FORBIDDEN if c in text]
    if not text or len(text) > 128 or bad:
        why = f"contains {bad[0]!r}" if bad else "must be 1 to 128 characters"
        raise UserError(
            f"logger.wandb.{key}={value!r}: a W&B {key} name {why} and cannot hold any of "
            f"{NAME_FORBIDDEN} (e.g. logger.wandb.{key}=dcgan-lab)"
        )


def previous_run_id(save_dir: Path) -> str | None:
    """W&B run id of an earlier process in this run dir: ``wandb/[offline-]run-<time>-<id>``."""
    runs = sorted(RunDir(save_dir).wandb.glob("*run-*-*"), key=lambda path: path.stat().st_mtime)
    return runs[-1].name.rsplit("-", 1)[1] if runs else None


class ProjectWandbLogger(WandbLogger):
    """Lightning's WandbLogger plus the dashboard settings of a run, and a clean finish.

    ``log_hyperparams`` also records the job's overrides and makes the FID summaries the
    best (lowest) value; ``finalize`` closes the W&B run, also after a failure, so the next
    job of a multirun starts clean.
    """

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        super().log_hyperparams(params, *args, **kwargs)
        run = self.experiment
        if hasattr(run, "define_metric"):  # absent on disabled runs
            run.define_metric("val/fid", summary="min")
            run.define_metric("val/fid_best", summary="min")
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        super().log_hyperparams({"overrides": overrides})

    def log_sample_grid(self, path: Path, step: int) -> None:
        self.log_image(key="samples", images=[str(path)], step=step)

    def log_animation(self, path: Path, step: int) -> None:
        self.log_video(key="progress", videos=[str(path)], step=step, format=["gif"])

    def finalize(self, status: str) -> None:
        super().finalize(status)
        import wandb

        if wandb.run is not None:
            wandb.finish(exit_code=0 if status == "success" else 1)
