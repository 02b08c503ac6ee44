"""Is a tracking server or cluster there? A TCP connect with a short timeout, so a missing
server is a one-line error (or W&B's offline mode) instead of a client retrying for minutes."""

from __future__ import annotations

import socket
from urllib.parse import urlparse


def answers(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """True if ``host:port`` accepts a TCP connection within ``timeout_s``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def url_answers(url: str, timeout_s: float = 2.0) -> bool:
    """``answers`` for an http(s) URL, at its port or the scheme's (443, 80)."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return answers(parsed.hostname or "", port, timeout_s)
