"""Sampling entry point: ``dcgan-sample ckpt_path=... n=...`` writes an .npz and a PNG grid."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from dcgan_lab.cli.common import config_dir, exit_on_user_error, run_with_clear_errors
from dcgan_lab.errors import UserError, first_line
from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.runs.checkpoints import error_summary, find_checkpoints, read_checkpoint
from dcgan_lab.training.module import DCGANModule
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
    # saved hyperparameters (the networks and the loss from their saved nodes), let the
    # module adapt the state, load it strictly.
    saved = checkpoint.get("hyper_parameters", {})
    accepted = inspect.signature(DCGANModule).parameters  # as Lightning, ignore other keys
    try:
        module = DCGANModule(**{k: v for k, v in saved.items() if k in accepted})
    except UserError:
        raise
    except Exception as err:
        raise UserError(f"cannot rebuild the networks of {ckpt_path}: {first_line(err)}") from None
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


def requested_labels(module: DCGANModule, label: Any, n: int) -> torch.Tensor | None:
    """Labels (n,) for ``label``: one class (an int), ``all`` (an equal share of every class,
    in class order), or None for an unconditional model."""
    classes = module.num_classes
    if not classes:
        if label is not None:
            raise UserError(f"label={label}: this checkpoint's model is not conditional")
        return None
    if label is None:
        raise UserError(f"this model is conditional: add label=all or a class in 0..{classes - 1}")
    if label == "all":
        return torch.arange(n) * classes // n  # sorted, each class n/classes times (within 1)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < classes:
        raise UserError(f"label={label!r}: choose all or a class in 0..{classes - 1}")
    return torch.full((n,), label)


def write_samples(
    module: DCGANModule, n: int, seed: int, out_dir: Path, label: Any = None
) -> tuple[Path, Path]:
    """Generate ``n`` images; save uint8 (N, H, W) (or (N, H, W, C)) .npz (with ``labels``
    for a conditional model) plus a grid PNG (conditional, label=all: a row per class)."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise UserError(f"n={n!r} must be a positive integer (e.g. n=64)")
    labels = requested_labels(module, label, n)
    noise = torch.randn(n, module.latent_dim, generator=torch.Generator().manual_seed(seed))
    images = to_uint8(module.sample(noise, labels))  # (N, C, H, W)
    array = images.permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    if array.shape[-1] == 1:
        array = array[..., 0]
    out_dir.mkdir(parents=True, exist_ok=True)
    npz_path = out_dir / f"samples_{n}.npz"
    arrays = {"images": array} | ({"labels": labels.numpy()} if labels is not None else {})
    np.savez_compressed(npz_path, **arrays)  # type: ignore[arg-type]
    shown, nrow = images[: min(n, 256)], None
    if labels is not None and label == "all" and n >= module.num_classes:
        nrow = min(n // module.num_classes, 16)  # a row per class
        rows = [images[labels == c][:nrow] for c in range(module.num_classes)]
        shown = torch.cat(rows)
    png_path = save_grid(shown, out_dir / f"samples_{n}.png", nrow)
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
    npz_path, png_path = write_samples(module, cfg.n, cfg.seed, Path(cfg.out_dir), cfg.get("label"))
    print(f"wrote {npz_path} and {png_path}")


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-sample")


if __name__ == "__main__":
    main()
