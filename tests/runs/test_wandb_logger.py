"""W&B mode selection: offline without a key or a server, explicit settings win."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcgan_lab.runs.wandb_logger import (
    build_wandb_logger,
    choose_wandb_mode,
    has_api_key,
    server_reachable,
)


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
    env["WANDB_CONFIG_DIR"] = str(tmp_path / "no-config")
    chosen, reason = choose_wandb_mode(env, offline, cwd=tmp_path)
    assert chosen == mode
    assert reason


def write_settings(path: Path, **values: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[default]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))


@pytest.mark.parametrize(
    ("workspace", "user", "env", "mode", "reason"),
    [
        # `wandb offline` in the project folder, logged in, server up: the user's word holds
        ({"mode": "offline"}, {}, {}, "offline", "set in {cwd}/wandb/settings"),
        ({}, {"mode": "offline"}, {}, "offline", "set in {cfg}/settings"),
        ({}, {"mode": "disabled"}, {}, "disabled", "set in {cfg}/settings"),
        # the workspace file beats the user's, the environment beats both
        ({"mode": "online"}, {"mode": "offline"}, {}, "online", "set in {cwd}/wandb/settings"),
        ({"mode": "offline"}, {}, {"WANDB_MODE": "online"}, "online", "set by WANDB_MODE"),
        # a self-hosted server named in the settings: probed there
        ({"base_url": "{up}"}, {}, {"WANDB_BASE_URL": ""}, "online", "logged in"),
        (
            {},
            {"base_url": CLOSED},
            {"WANDB_BASE_URL": ""},
            "offline",
            f"server {CLOSED} unreachable",
        ),
        # no choice made: online when logged in and the server answers
        ({}, {}, {}, "online", "logged in and server reachable"),
    ],
)
def test_the_users_wandb_settings_decide_the_mode(
    tmp_path: Path, listening_url: str, workspace, user, env, mode: str, reason: str
) -> None:
    cwd, cfg = tmp_path / "project", tmp_path / "config"
    fill = {"{up}": listening_url, "{cwd}": str(cwd), "{cfg}": str(cfg)}

    def filled(text: str) -> str:
        for key, value in fill.items():
            text = text.replace(key, value)
        return text

    write_settings(cwd / "wandb" / "settings", **{k: filled(v) for k, v in workspace.items()})
    write_settings(cfg / "settings", **{k: filled(v) for k, v in user.items()})
    environment = {"WANDB_API_KEY": "k", "WANDB_BASE_URL": listening_url,
                   "WANDB_CONFIG_DIR": str(cfg), **env}  # fmt: skip
    environment = {k: v for k, v in environment.items() if v}
    chosen, why = choose_wandb_mode(environment, None, cwd=cwd)
    assert (chosen, why) == (mode, filled(reason)) or (chosen == mode and filled(reason) in why)


def test_disabled_wandb_prints_no_upload_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    build_wandb_logger(save_dir=str(tmp_path), project="p")
    out = capsys.readouterr().out
    assert "W&B: disabled (set by WANDB_MODE); nothing is logged to W&B" in out
    assert "upload" not in out and "wandb sync" not in out
