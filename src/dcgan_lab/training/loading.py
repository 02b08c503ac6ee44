"""A trained module from any checkpoint, for sampling and scoring (dcgan-sample,
dcgan-eval, benchmarks, notebooks): rebuilt from the checkpoint alone, on the CPU."""

from __future__ import annotations

import inspect
from pathlib import Path

from dcgan_lab.errors import UserError, first_line
from dcgan_lab.models.checks import require_choice
from dcgan_lab.models.sampling import require_bn_mode, require_truncation
from dcgan_lab.runs.checkpoints import error_summary, read_checkpoint
from dcgan_lab.training.module import DCGANModule

GENERATORS = ("auto", "raw", "ema")


def load_module(
    ckpt_path: str | Path,
    bn_sampling: str | None = None,
    generator: str = "auto",
    truncation: float | None = None,
) -> DCGANModule:
    """A DCGANModule on the CPU from any checkpoint of a run; UserError if unreadable.

    ``bn_sampling`` (null: as trained) and ``generator`` (auto: the EMA generator when it
    scored better, else raw; or raw / ema) and ``truncation`` (null: plain noise; t: noise
    truncated to [-t, t]) choose how ``sample`` draws.
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
    require_choice("generator", generator, GENERATORS)
    if generator == "ema" and module.generator_ema is None:
        raise UserError(f"generator=ema: {ckpt_path} was trained without EMA (model.ema.decay=0)")
    module.truncation = require_truncation(truncation)
    if generator != "auto":
        module.use_ema.fill_(generator == "ema")
    return module
