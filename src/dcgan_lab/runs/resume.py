"""``ckpt_path=last|<file>``: continue a run in its own directory with its own overrides.

Resolved before Hydra starts, because the run directory is Hydra's choice: the command
line becomes the original run's overrides, then the new ones (which win), then
``hydra.run.dir=<that run's dir>``. So ``dcgan-train ckpt_path=last`` alone resumes the
newest run exactly as it was configured.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from dcgan_lab.errors import UserError
from dcgan_lab.runs.run_dir import RunDir

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
    return max(found, key=lambda path: path.stat().st_mtime)


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


def resume_arguments(argv: list[str], runs_root: Path = RUNS_ROOT) -> list[str]:
    """Command-line arguments with ``ckpt_path`` resolved and the original run's settings.

    Unchanged without ``ckpt_path``, in a multirun, or when ``hydra.run.dir`` is given.
    """
    ckpt_values = [a.split("=", 1)[1] for a in argv if override_key(a) == "ckpt_path"]
    if not ckpt_values or ckpt_values[-1] in ("", "null"):
        return argv
    if any(a in ("-m", "--multirun") or override_key(a) == "hydra.run.dir" for a in argv):
        return argv
    # Hydra's own options (`--cfg job`) keep their order; `key=value` overrides are merged.
    flags = [a for a in argv if a.startswith("-") or "=" not in a]
    overrides = [a for a in argv if a not in flags]
    checkpoint = resolve_checkpoint(ckpt_values[-1], runs_root)
    overrides = merge_overrides(overrides, [f"ckpt_path='{checkpoint}'"])
    run = run_dir_of(checkpoint)
    if run is None:  # a checkpoint from elsewhere: a new run starting from its state
        return flags + overrides
    original = [str(o) for o in OmegaConf.load(run.overrides)]
    # output_subdir=null: Hydra leaves .hydra/ alone; the job records the overrides once
    # training starts (jobs.record_resume_overrides), so a rejected resume changes nothing.
    hydra_args = [f"hydra.run.dir='{run.root}'", "hydra.output_subdir=null"]
    return flags + merge_overrides(original, overrides) + hydra_args
