"""``dcgan-demo ckpt_path=... [port=7860] [host=127.0.0.1]``: a checkpoint's generator on a
Gradio page (seed, class, truncation, a walk between two seeds, a button that saves the grid)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from dcgan_lab.cli.common import config_dir, exit_on_user_error, run_with_clear_errors
from dcgan_lab.errors import UserError
from dcgan_lab.models.checks import require_choice
from dcgan_lab.runs.checkpoints import CHECKPOINT_CHOICES, find_checkpoints
from dcgan_lab.training.loading import load_module


def require_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"port={port!r}: choose a TCP port from 1 to 65535 (e.g. port=7860)")
    return port


def require_grid_size(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 256:
        raise UserError(f"n={n!r}: the grid holds 1 to 256 images (e.g. n=16)")
    return n


@hydra.main(config_path=config_dir(), config_name="demo", version_base="1.3")
@exit_on_user_error("dcgan-demo")
def hydra_main(cfg: DictConfig) -> None:
    """Serve the page until Ctrl-C."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise UserError(
            "dcgan-demo needs Gradio, which is not installed: pip install 'dcgan-lab[demo]'"
        ) from None
    from dcgan_lab.demo.app import DemoPage, build_app

    port, n = require_port(cfg.port), require_grid_size(cfg.n)
    if cfg.ckpt_path is None:
        raise UserError("ckpt_path is required: add ckpt_path=... to the command")
    require_choice("checkpoint", cfg.checkpoint, CHECKPOINT_CHOICES)
    (ckpt,) = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint, single=True)
    module = load_module(ckpt, cfg.bn_sampling, cfg.generator).eval()
    app = build_app(DemoPage(module, Path(cfg.out_dir), n), f"dcgan-lab: {ckpt}")
    print(f"dcgan-demo: serving {ckpt} at http://{cfg.host}:{port} (Ctrl-C stops)", flush=True)
    try:
        app.launch(server_name=str(cfg.host), server_port=port, show_error=True, quiet=True)
    except OSError as err:  # the port is taken, or the host is not this machine's
        raise UserError(
            f"cannot serve on {cfg.host}:{port} ({str(err).splitlines()[0]}); "
            f"choose another port (port={port + 1}) or host"
        ) from None


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-demo")


if __name__ == "__main__":
    main()
