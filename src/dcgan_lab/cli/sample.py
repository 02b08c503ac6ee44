"""Sampling entry point: ``dcgan-sample ckpt_path=... n=...`` writes an .npz and a PNG grid."""

from __future__ import annotations

import inspect
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from dcgan_lab.runs.checkpoints import error_summary, find_checkpoints, read_checkpoint
from dcgan_lab.cli.common import config_dir, exit_on_user_error, run_with_clear_errors
from dcgan_lab.errors import UserError
from dcgan_lab.training.module import DCGANModule
from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.training.sampling import require_bn_mode

GENERATORS = ("auto", "raw", "ema")


def load_module(
    ckpt_path: str | Path, bn_sampling: str | None = None, generator: str = "auto"
) -> DCGANModule:
    """A DCGANModule on the CPU from any checkpoint of a run; UserError if unreadable.

    ``bn_sampling`` (null: as trained) and ``generator`` (auto: the EMA generator when it
    scored better, else raw; or raw / ema) choose how ``sample`` draws.
    """
    checkpoint = read_checkpoint(ckpt_path)  # missing or corrupt: one line; read once
    # What Lightning's load_from_checkpoint does, on the dict already read: build from the
    # saved hyperparameters, let the module adapt the state, load it strictly.
    accepted = inspect.signature(DCGANModule).parameters  # as Lightning, ignore other keys
    saved = checkpoint.get("hyper_parameters", {})
    module = DCGANModule(**{k: v for k, v in saved.items() if k in accepted})
    module.on_load_checkpoint(checkpoint)
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise UserError(f"cannot load checkpoint {ckpt_path}: {error_summary(err)}") from None
    if bn_sampling is not None:
        module.hparams["bn_sampling"] = require_bn_mode("bn_sampling", bn_sampling)
    if generator not in GENERATORS:
        raise UserError(f"generator={generator!r}: choose one of {', '.join(GENERATORS)}")
    if generator == "ema" and module.generator_ema is None:
        raise UserError(f"generator=ema: {ckpt_path} was trained without EMA (model.ema_decay=0)")
    if generator != "auto":
        module.use_ema.fill_(generator == "ema")
    return module


def write_samples(module: DCGANModule, n: int, seed: int, out_dir: Path) -> tuple[Path, Path]:
    """Generate ``n`` images; save uint8 (N, H, W) (or (N, H, W, C)) .npz plus a grid PNG."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise UserError(f"n={n!r} must be a positive integer (e.g. n=64)")
    noise = torch.randn(n, module.latent_dim, generator=torch.Generator().manual_seed(seed))
    images = to_uint8(module.sample(noise))  # (N, C, H, W)
    array = images.permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    if array.shape[-1] == 1:
        array = array[..., 0]
    out_dir.mkdir(parents=True, exist_ok=True)
    npz_path = out_dir / f"samples_{n}.npz"
    np.savez_compressed(npz_path, images=array)
    png_path = save_grid(images[: min(n, 256)], out_dir / f"samples_{n}.png")
    return npz_path, png_path


@hydra.main(config_path=config_dir(), config_name="sample", version_base="1.3")
@exit_on_user_error("dcgan-sample")
def hydra_main(cfg: DictConfig) -> None:
    (ckpt,) = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint, single=True)
    module = load_module(ckpt, cfg.bn_sampling, cfg.generator).eval()
    print(
        f"sampling {ckpt} ({'EMA' if module.use_ema else 'raw'} generator, "
        f"BatchNorm {module.hparams['bn_sampling']} statistics)"
    )
    npz_path, png_path = write_samples(module, cfg.n, cfg.seed, Path(cfg.out_dir))
    print(f"wrote {npz_path} and {png_path}")


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-sample")


if __name__ == "__main__":
    main()
