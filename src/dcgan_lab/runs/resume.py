"""``ckpt_path=last|<file>``: continue a run in its own directory with its own overrides.

Resolved before Hydra starts, because the run directory is Hydra's choice: the command
line becomes the original run's overrides, then the new ones (which win), then
``hydra.run.dir=<that run's dir>``. So ``dcgan-train ckpt_path=last`` alone resumes the
newest run exactly as it was configured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import OmegaConf

from dcgan_lab.errors import UserError, first_line
from dcgan_lab.runs import lock
from dcgan_lab.runs.renamed_keys import modernise
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.targets import require_buildable

T = TypeVar("T")

RUNS_ROOT = Path("outputs/runs")  # hydra.run.dir's parent in conf/hydra/default.yaml


def override_key(override: str) -> str:
    """'+model.x=1' -> 'model.x'; 'width=wide' -> 'width'."""
    return override.split("=", 1)[0].lstrip("+~")


def newest_last_checkpoint(runs_root: Path) -> Path:
    found = list(runs_root.glob("*/*/checkpoints/last.ckpt"))
    if not found:
        raise UserError(
            f"ckpt_path=last: no run under {runs_root} has checkpoints/last.ckpt; "
            "pass ckpt_path=<run dir>/checkpoints/last.ckpt"
        )
    newest = max(found, key=lambda path: path.stat().st_mtime)
    report_newer_runs_without_checkpoint(runs_root, RunDir(newest.parent.parent))
    return newest


def report_newer_runs_without_checkpoint(runs_root: Path, resumed: RunDir) -> None:
    """Say which newer runs ``ckpt_path=last`` passes over: those that started training
    (config.yaml) but have no checkpoint. One no process trains any more died before its
    first checkpoint: it is marked crashed, so the record says so too."""
    for run in (RunDir(p) for p in sorted(runs_root.glob("*/*")) if p.is_dir()):
        if run.root.parts[-2:] <= resumed.root.parts[-2:] or not run.config.is_file():
            continue
        if run.checkpoint("last").is_file():
            continue
        if lock.is_locked(run.root):
            print(f"note: the newer run {run.root} is still training and has no checkpoint yet")
            continue
        status = (run.read_status() or {}).get("status")
        if status in (None, "running", "crashed"):  # it died without saying so
            run.write_status("crashed", error="stopped before its first checkpoint")
            status = "crashed"
        print(f"note: the newer run {run.root} has no checkpoint ({status}); it cannot be resumed")


def resolve_checkpoint(value: str, runs_root: Path = RUNS_ROOT) -> Path:
    path = newest_last_checkpoint(runs_root) if value == "last" else Path(value).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found; pass ckpt_path=last or a .ckpt file")
    return path.resolve()


def run_dir_of(checkpoint: Path) -> RunDir | None:
    """The Hydra run a checkpoint was written in (``<run>/checkpoints/x.ckpt``), if any."""
    run = RunDir.of_checkpoint(checkpoint)
    return run if run is not None and run.overrides.is_file() else None


def merge_overrides(first: list[str], then: list[str]) -> list[str]:
    """Overrides of ``first`` updated by ``then``: one per key, later values win."""
    merged = {override_key(o): o for o in first}
    merged.update({override_key(o): o for o in then})
    return list(merged.values())


def unquoted(value: str) -> str:
    """A path as typed in an override: Hydra's quotes and their escapes removed."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace(f"\\{value[0]}", value[0])
    return value


def quoted(path: Path) -> str:
    """``path`` as a Hydra override value: single-quoted, its own quotes escaped, so
    spaces, quotes, ``=`` and non-ASCII letters in folder names pass through."""
    return "'" + str(path).replace("'", "\\'") + "'"


def resume_arguments(argv: list[str], runs_root: Path = RUNS_ROOT) -> list[str]:
    """Command-line arguments with ``ckpt_path`` resolved and the original run's settings.

    ``ckpt_path=last`` resumes the newest run with a checkpoint, or with ``hydra.run.dir``
    the run in that folder. A ``hydra.run.dir`` that already holds a run is only ever
    resumed, never trained into afresh. Unchanged in a multirun.
    """
    if any(a in ("-m", "--multirun") for a in argv):
        return argv
    if os.environ.get("LOCAL_RANK", "0") not in ("", "0"):
        return argv  # a DDP worker Lightning started: rank 0 resolved this command already
    given_dirs = [unquoted(a.split("=", 1)[1]) for a in argv if override_key(a) == "hydra.run.dir"]
    target = RunDir(Path(given_dirs[-1]).expanduser().absolute()) if given_dirs else None
    ckpt_values = [a.split("=", 1)[1] for a in argv if override_key(a) == "ckpt_path"]
    ckpt = unquoted(ckpt_values[-1]) if ckpt_values else ""
    if ckpt in ("", "null"):
        require_new_run_dir(target)
        return argv
    # Hydra's own options (`--cfg job`) keep their order; `key=value` overrides are merged.
    flags = [a for a in argv if a.startswith("-") or "=" not in a]
    overrides = [a for a in argv if a not in flags]
    if ckpt == "last" and target is not None:
        checkpoint = target.checkpoint("last")
        if not checkpoint.is_file():
            raise UserError(
                f"ckpt_path=last: {target.root} holds no checkpoints/last.ckpt to resume; "
                "drop hydra.run.dir to resume the newest run, or pass ckpt_path=<file>"
            )
        checkpoint = checkpoint.resolve()
    else:
        checkpoint = resolve_checkpoint(ckpt, runs_root)
    overrides = merge_overrides(overrides, [f"ckpt_path={quoted(checkpoint)}"])
    run = run_dir_of(checkpoint)
    if run is None or (target is not None and run.root.resolve() != target.root.resolve()):
        # A checkpoint from elsewhere: a new run starting from its state.
        require_new_run_dir(target)
        return flags + overrides
    print(f"resuming the run in {run.root} from {checkpoint.name}")
    original = replayable_overrides(run.overrides)
    original = [*settled_defaults(run, original), *original]  # keys the run did not set
    overrides = [o for o in overrides if override_key(o) != "hydra.run.dir"]
    # output_subdir=null: Hydra leaves .hydra/ alone; the job records the overrides once
    # training starts (jobs.record_resume_overrides), so a rejected resume changes nothing.
    hydra_args = [f"hydra.run.dir={quoted(run.root)}", "hydra.output_subdir=null"]
    return flags + merge_overrides(original, overrides) + hydra_args


def read_run_file(path: Path, read: Callable[[Path], T]) -> T:
    """``read(path)`` for one of a run's own files, any failure as one line."""
    try:
        return read(path)
    except Exception as err:
        raise UserError(f"cannot read {path}: {first_line(err)}; restore the run's file") from None


# Defaults that changed after runs were trained with the old value: a resume replays the
# value the run's config.yaml records unless the run's overrides set the key themselves
# (model.conditional: false before it followed the data's labels; model.generator.label_norm:
# false before it followed them too).
SETTLED_ON_RESUME = {"model.conditional": False, "model.generator.label_norm": False}


def settled_defaults(run: RunDir, original: list[str]) -> list[str]:
    """``key=value`` for each key of ``SETTLED_ON_RESUME`` the run did not override, as its
    config.yaml resolved it (the old default where the file predates the key)."""
    if not run.config.is_file():
        return []
    config = read_run_file(run.config, OmegaConf.load)
    overridden = {override_key(o) for o in original}
    settled = []
    for key, old_default in SETTLED_ON_RESUME.items():
        if key not in overridden:
            value = OmegaConf.select(config, key, default=old_default)
            settled.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    return settled


def replayable_overrides(path: Path) -> list[str]:
    """A run's recorded overrides, refused in one line when they would make Hydra call
    something: a ``hydra.*`` setting (Hydra's own callbacks, search path) or a ``_target_``
    that is not this package's (``targets.require_buildable``). Old spellings of renamed
    keys are replayed in today's."""

    def parse(path: Path) -> tuple[list[str], list[Override]]:
        original, _ = modernise([str(o) for o in OmegaConf.load(path)])
        return original, OverridesParser.create().parse_overrides(original)

    original, parsed = read_run_file(path, parse)
    for override in parsed:
        key = override.key_or_group
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            raise UserError(
                f"{path} sets {key}, which a run's own overrides never do; not replaying it "
                "(was the file edited?)"
            )
        value = override.value()
        node = {"_target_": value} if key.rsplit(".", 1)[-1] == "_target_" else value
        require_buildable(node, str(path))
    return original


def require_new_run_dir(run: RunDir | None) -> None:
    """Refuse to train a new run into a folder that holds one: its config, overrides,
    checkpoints and logs would be overwritten or mixed with the new run's."""
    if run is None or not run.holds_run():
        return
    raise UserError(
        f"hydra.run.dir={run.root} already holds a run; resume it with ckpt_path=last "
        f"hydra.run.dir={run.root}, or choose a new hydra.run.dir"
    )
