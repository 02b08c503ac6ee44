"""Reading checkpoints given by the user: one line for a missing, corrupt or foreign file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dcgan_lab.errors import UserError
from dcgan_lab.models.base import Generator
from dcgan_lab.runs.run_dir import RunDir

KERAS = "dcgan_lab.models.keras"
# Hyperparameters of checkpoints written before networks were configured by their own
# ``_target_`` nodes; ``upgrade_checkpoint`` turns them into those nodes.
OLD_NETWORK_KEYS = (
    "latent_dim", "width", "g_width", "d_width", "dropout", "channels", "image_size",
    "spectral_norm", "fused_upsample",
)  # fmt: skip
# Flat module settings of checkpoints written before they were grouped into the ``ema`` and
# ``speed`` nodes: old key -> (node, key).
GROUPED_KEYS = {
    "ema_decay": ("ema", "decay"), "ema_warmup": ("ema", "warmup"), "ema_span": ("ema", "span"),
    "score_raw": ("ema", "score_raw"), "compile": ("speed", "compile"),
    "channels_last": ("speed", "channels_last"),
}  # fmt: skip
# Where a checkpoint keeps the standing BatchNorm statistics of its generators (by name:
# generator, generator_ema); present, if empty, in every checkpoint written since
# ``bn_sampling=standing`` became the default.
STANDING_KEY = "standing_statistics"
# Which checkpoint of a run folder a tool reads (``checkpoint=``): best.ckpt or last.ckpt.
CHECKPOINT_CHOICES = ("best", "last")
# State a checkpoint may lack (written before the feature existed, or with it off).
OPTIONAL_PREFIXES = ("fid_best", "use_ema", "generator_ema.", "lecam.", "ada.")


def optional(name: str) -> bool:
    return name.startswith(OPTIONAL_PREFIXES)


def fill_optional_state(
    saved_state: dict[str, torch.Tensor], state: Mapping[str, torch.Tensor]
) -> None:
    """Make ``saved_state`` loadable into a module whose optional parts differ.

    No best FID yet: infinity. No EMA saved: the EMA starts as the saved generator. An
    optional part saved but off now (EMA, LeCam's averages, ADA's p): dropped.
    """
    for name in [n for n in saved_state if optional(n) and n not in state]:
        del saved_state[name]
    for name, tensor in state.items():
        if name in saved_state or not optional(name):
            continue
        if name.startswith("generator_ema.module."):
            saved_state[name] = saved_state[name.replace("generator_ema.module.", "generator.")]
        elif name == "fid_best":
            saved_state[name] = torch.tensor(float("inf"))
        else:  # use_ema, generator_ema.n_averaged, lecam.*, ada.*: as a fresh module has them
            saved_state[name] = tensor.clone()


def upgrade_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Bring an older checkpoint's settings to today's layout.

    One written while ``bn_sampling=batch`` was the default samples on standing statistics,
    as a new run does (batch statistics made each image depend on its batch-mates). One of
    the first layout (one built-in architecture, its sizes as flat hyperparameters) gets
    the network nodes of today's; its weights already have today's names. Flat EMA and
    speed settings move into their nodes."""
    saved = checkpoint.setdefault("hyper_parameters", {})
    if isinstance(saved, dict):
        for flat, (node, name) in GROUPED_KEYS.items():
            if flat in saved:
                saved.setdefault(node, {})[name] = saved.pop(flat)
    old_default = isinstance(saved, dict) and saved.get("bn_sampling", "batch") == "batch"
    if old_default and STANDING_KEY not in checkpoint:
        saved["bn_sampling"] = "standing"
    if not isinstance(saved, dict) or "generator" in saved or "latent_dim" not in saved:
        return checkpoint
    old = {key: saved.pop(key) for key in OLD_NETWORK_KEYS if key in saved}
    shape = {"channels": old.get("channels", 1), "image_size": old.get("image_size", 28)}
    width = old.get("width", 64)
    saved["generator"] = {
        "_target_": f"{KERAS}.KerasGenerator", "latent_dim": old.get("latent_dim", 100),
        "width": old.get("g_width") or width, "fused_upsample": old.get("fused_upsample", False),
        "conditional": False, "num_classes": None, "label_dim": 16, **shape,
    }  # fmt: skip
    saved["discriminator"] = {
        "_target_": f"{KERAS}.KerasDiscriminator", "width": old.get("d_width") or width,
        "dropout": old.get("dropout", 0.3), "spectral_norm": old.get("spectral_norm", False),
        "conditional": False, "num_classes": None, **shape,
    }  # fmt: skip
    return checkpoint


def fold_norm_biases(checkpoint: dict[str, Any], generator: Generator) -> None:
    """Load a checkpoint written while ``generator``'s layers before a BatchNorm had biases.

    Each such bias b moves into its BatchNorm's running mean (rm - b): training-mode
    BatchNorm cancels b anyway and eval-mode BatchNorm subtracts rm, so G computes the same
    function, raw and EMA alike. G's optimizer state (the first; Adam's moments by parameter
    position) loses those entries, so a resumed run continues where it stopped.
    """
    state, layers = checkpoint["state_dict"], generator.folded_biases()
    found = [layer for layer in layers if f"generator.{layer}.bias" in state]
    if not found:
        return
    for prefix in ("generator.", "generator_ema.module."):
        for layer in found:
            bias = state.pop(f"{prefix}{layer}.bias", None)
            mean = f"{prefix}{layers[layer]}.running_mean"
            if bias is not None and mean in state:
                state[mean] = state[mean] - bias
    # The parameter order the checkpoint's G had: each bias right after its weight.
    before: list[str] = []
    for name, _ in generator.named_parameters():
        before.append(name)
        layer = name.removesuffix(".weight")
        if layer in found:
            before.append(f"{layer}.bias")
    dropped = {before.index(f"{layer}.bias") for layer in found}
    optimizers = checkpoint.get("optimizer_states") or []
    groups = optimizers[0].get("param_groups", []) if optimizers else []
    if sum(len(group["params"]) for group in groups) != len(before):
        return  # not the layout expected: leave it to the optimizer's own check
    kept = [i for i in range(len(before)) if i not in dropped]
    renumber = {old: new for new, old in enumerate(kept)}
    optimizers[0]["state"] = {
        renumber[i]: value for i, value in optimizers[0]["state"].items() if i in renumber
    }
    for group in groups:
        group["params"] = [renumber[i] for i in group["params"] if i in renumber]


def spec_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """'model.generator.width=64 (now 32)' for each network setting that differs."""
    found = []
    for net in ("generator", "discriminator"):
        old, new = saved.get(net) or {}, now.get(net) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                found.append(f"model.{net}.{key}={old.get(key)} (now {new.get(key)})")
    return found


def require_same_architecture(
    checkpoint: Mapping[str, Any], hparams: Mapping[str, Any], state: Mapping[str, torch.Tensor]
) -> None:
    """UserError naming the differing settings and the first tensor whose shape differs."""
    saved_state = checkpoint["state_dict"]
    mismatched = [
        name
        for name, tensor in state.items()
        if name in saved_state and saved_state[name].shape != tensor.shape
    ]
    missing = [name for name in state if name not in saved_state and not optional(name)]
    unexpected = [name for name in saved_state if name not in state and not optional(name)]
    if not mismatched and not missing and not unexpected:
        return
    settings = ", ".join(spec_differences(checkpoint.get("hyper_parameters") or {}, hparams))
    if mismatched:
        name = mismatched[0]
        detail = f"{name} is {list(saved_state[name].shape)}, not {list(state[name].shape)}"
    elif missing:
        detail = f"it has no {missing[0]}"
    else:
        detail = f"it has {unexpected[0]}, which this model lacks"
    raise UserError(
        f"the checkpoint is from a different architecture ({settings or 'settings unknown'}): "
        f"{detail}; resume with the checkpoint's model settings"
    )


def read_checkpoint(ckpt_path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents (weights only, on the CPU); UserError if absent or unreadable."""
    path = Path(ckpt_path)
    if not path.is_file():
        raise UserError(
            f"checkpoint {path} not found; pass ckpt_path=<run dir>/checkpoints/last.ckpt"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file can fail anywhere in the unpickler
        if "Weights only load failed" in str(err):  # torch's advice would run its code
            reason = "it holds Python objects besides tensors and plain values, so it was not "
            reason += "written by this project and is not loaded"
        else:
            reason = error_summary(err)
        raise UserError(f"cannot load checkpoint {path}: {reason}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise UserError(f"cannot load checkpoint {path}: no state_dict in it")
    state = checkpoint["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(
            f"cannot load checkpoint {path}: its state_dict is a {type(state).__name__}, "
            "not tensors by name"
        )
    settings = checkpoint.get("hyper_parameters", {})
    if not isinstance(settings, dict):
        raise UserError(
            f"cannot load checkpoint {path}: its hyper_parameters are a "
            f"{type(settings).__name__}, not settings by name"
        )
    return upgrade_checkpoint(checkpoint)


def error_summary(err: BaseException) -> str:
    """The first two non-empty lines of an error, e.g. the tensor a state dict lacks."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(err).__name__


def find_checkpoints(path: Path, which: str = "best", single: bool = False) -> list[Path]:
    """A .ckpt file as given; in a run dir (or a folder of them) one checkpoint per run:
    ``which`` (best: the lowest FID) when present, else last.ckpt."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"ckpt_path={path} does not exist; pass a .ckpt file or a run directory")
    if single and not RunDir(path).checkpoints.is_dir():
        raise UserError(f"no checkpoints/ in {path}; pass a run directory or a .ckpt file")
    found = []
    for ckpt_dir in sorted(path.glob("**/checkpoints")):
        run = RunDir(ckpt_dir.parent)
        preferred = run.checkpoint(which)
        chosen = preferred if preferred.is_file() else run.checkpoint("last")
        if chosen.is_file():
            found.append(chosen)
    if not found:
        raise UserError(f"no checkpoints/last.ckpt under {path}; is it a run directory?")
    return found
