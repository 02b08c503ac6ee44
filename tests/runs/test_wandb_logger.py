"""W&B mode selection: offline without a key or a server, explicit settings win."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcgan_lab.runs.wandb_logger import choose_wandb_mode, has_api_key, server_reachable


@pytest.fixture
def listening_url() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


CLOSED = "http://127.0.0.1:9"


def test_netrc_entry_for_the_wandb_host_counts_as_a_key(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    env = {"NETRC": str(netrc)}
    assert not has_api_key(env)
    netrc.write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    netrc.chmod(0o600)
    assert has_api_key(env)
    assert not has_api_key({**env, "WANDB_BASE_URL": "https://wandb.example.org"})
    assert has_api_key({"NETRC": str(tmp_path / "none"), "WANDB_API_KEY": "k"})


def test_server_reachable_is_a_quick_tcp_probe(listening_url: str) -> None:
    assert server_reachable({"WANDB_BASE_URL": listening_url})
    assert not server_reachable({"WANDB_BASE_URL": CLOSED})


@pytest.mark.parametrize(
    ("env", "offline", "mode"),
    [
        ({}, None, "offline"),  # no key: a non-interactive wandb.init would raise
        ({"WANDB_API_KEY": "k", "WANDB_BASE_URL": CLOSED}, None, "offline"),
        ({"WANDB_API_KEY": "k", "WANDB_BASE_URL": "{up}"}, None, "online"),
        ({"WANDB_MODE": "disabled", "WANDB_API_KEY": "k"}, None, "disabled"),
        (
            {"WANDB_MODE": "offline", "WANDB_API_KEY": "k", "WANDB_BASE_URL": "{up}"},
            None,
            "offline",
        ),
        ({"WANDB_MODE": "online"}, None, "online"),
        ({"WANDB_MODE": "online"}, True, "offline"),
        ({}, False, "online"),
    ],
)
def test_choose_wandb_mode(tmp_path: Path, listening_url: str, env, offline, mode) -> None:
    env = {k: v.replace("{up}", listening_url) for k, v in env.items()}
    env["NETRC"] = str(tmp_path / "no-netrc")
    chosen, reason = choose_wandb_mode(env, offline)
    assert chosen == mode
    assert reason
