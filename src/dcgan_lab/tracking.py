"""W&B logger construction that never hangs: offline whenever no login or no server."""

from __future__ import annotations

import netrc
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pytorch_lightning.loggers import WandbLogger

DEFAULT_BASE_URL = "https://api.wandb.ai"


def has_api_key(env: dict[str, str]) -> bool:
    """True if W&B has a key: ``WANDB_API_KEY`` or a netrc entry for the W&B host."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL", DEFAULT_BASE_URL)).hostname or ""
    path = Path(env.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(str(path)).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def server_reachable(env: dict[str, str], timeout_s: float = 2.0) -> bool:
    """A TCP connect to the W&B server within ``timeout_s``; False on any failure."""
    url = urlparse(env.get("WANDB_BASE_URL", DEFAULT_BASE_URL))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def choose_wandb_mode(env: dict[str, str], offline: bool | None) -> tuple[str, str]:
    """(mode, reason): 'online', 'offline' or 'disabled'. Explicit settings win.

    Without a key, a non-interactive ``wandb.init`` raises instead of going offline, and
    an unreachable server makes it wait; both are detected here, before wandb starts.
    """
    if offline is not None:
        return ("offline" if offline else "online"), "set by logger.wandb.offline"
    if env.get("WANDB_MODE"):
        return env["WANDB_MODE"], "set by WANDB_MODE"
    if not has_api_key(env):
        return "offline", "no W&B API key (run `wandb login` to log online)"
    if not server_reachable(env):
        return "offline", "W&B server unreachable"
    return "online", "logged in and server reachable"


def build_wandb_logger(offline: bool | None = None, **kwargs: Any) -> WandbLogger:
    """A Lightning WandbLogger in the mode ``choose_wandb_mode`` picks, with a one-line notice."""
    mode, reason = choose_wandb_mode(dict(os.environ), offline)
    if mode != "online":
        print(f"W&B: {mode} ({reason}); upload later with `wandb sync <run dir>/wandb/offline-*`")
    Path(kwargs.get("save_dir", ".")).mkdir(parents=True, exist_ok=True)
    return WandbLogger(mode=mode, **kwargs)
