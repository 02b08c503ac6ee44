"""Reading the jobs of a sweep directory: overrides, metrics CSV, status, last grid and
training animation."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dcgan_lab.errors import UserError
from dcgan_lab.runs.run_dir import RunDir


@dataclass
class Job:
    """One job of a sweep, as far as it got."""

    path: Path
    overrides: dict[str, str]
    status: str  # completed, diverged, failed, running, pending
    fid_curve: list[tuple[int, float]] = field(default_factory=list)  # (epoch, val/fid)
    epochs: int = 0  # epochs with logged training metrics
    grid: Path | None = None
    error: str | None = None
    # val/precision, val/recall, ... at each scored epoch: epoch -> {name: value}
    diversity: dict[int, dict[str, float]] = field(default_factory=dict)
    animation: Path | None = None  # samples/progress.gif

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def best_fid(self) -> float | None:
        finite = [fid for _, fid in self.fid_curve if math.isfinite(fid)]
        return min(finite) if finite else None

    @property
    def final_fid(self) -> float | None:
        return self.fid_curve[-1][1] if self.fid_curve else None

    def at_best_fid(self, name: str) -> float | None:
        """A score (``precision``, ``copy_rate``, ...) at the epoch of the best FID: the
        epoch best.ckpt holds."""
        best = self.best_fid
        epoch = next((e for e, fid in self.fid_curve if fid == best), None)
        return self.diversity.get(epoch, {}).get(name) if epoch is not None else None


class Unreadable(Exception):
    """A job file with bad bytes or the wrong structure; the report marks the job."""


def read_overrides(job_dir: Path) -> dict[str, str]:
    path = RunDir(job_dir).overrides
    if not path.is_file():
        return {}
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise Unreadable(f"{path.name} is not a list of overrides")
    return dict(item.split("=", 1) for item in items if "=" in item)


# val/<name> columns read at each scored epoch
DIVERSITY = ("precision", "recall", "density", "coverage", "copy_rate", "recognisable",
             "class_share_min", "class_share_max")  # fmt: skip

Metrics = tuple[list[tuple[int, float]], int, bool, dict[int, dict[str, float]]]


def read_metrics(csv_path: Path) -> Metrics:
    """(fid curve, epochs trained, saw a non-finite loss, diversity scores per epoch) from a
    possibly growing CSV."""
    if not csv_path.is_file():
        return [], 0, False, {}
    curve: list[tuple[int, float]] = []
    epochs: set[int] = set()
    diversity: dict[int, dict[str, float]] = {}
    non_finite = False
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                epoch = int(row.get("epoch") or -1)
                if row.get("val/fid"):
                    curve.append((epoch, float(row["val/fid"])))
                    diversity[epoch] = {k: float(row[f"val/{k}"]) for k in DIVERSITY
                                        if row.get(f"val/{k}")}  # fmt: skip
                for key in ("train/d_loss", "train/g_loss"):
                    if row.get(key):
                        epochs.add(epoch)
                        non_finite |= not math.isfinite(float(row[key]))
            except (TypeError, ValueError):  # a line being written right now
                continue
    return curve, len(epochs), non_finite, diversity


def read_status(job_dir: Path) -> tuple[str | None, str | None]:
    status = RunDir(job_dir).read_status() or {}
    return status.get("status"), status.get("error")


def read_job(job_dir: Path) -> Job:
    """The job as far as its files tell; a file that cannot be read marks it unreadable."""
    try:
        return read_job_files(job_dir)
    except (Unreadable, OSError, ValueError, yaml.YAMLError, csv.Error) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return Job(job_dir, {}, "unreadable", error=f"unreadable: {reason}")


def inside(path: Path, root: Path) -> bool:
    """True when ``path`` is no link and lies in ``root`` once every link is resolved: a
    report reads and copies only the sweep's own files."""
    return not path.is_symlink() and path.resolve().is_relative_to(root.resolve())


def require_inside(job_dir: Path, *paths: Path) -> None:
    for path in paths:
        if path.exists() and not inside(path, job_dir):
            raise Unreadable(f"{path.relative_to(job_dir)} links outside the sweep")


def read_job_files(job_dir: Path) -> Job:
    run = RunDir(job_dir)
    if job_dir.is_symlink():
        raise Unreadable("the job folder links outside the sweep")
    require_inside(job_dir, run.metrics_csv, run.status, job_dir / ".hydra" / "overrides.yaml")
    curve, epochs, non_finite, diversity = read_metrics(run.metrics_csv)
    status, error = read_status(job_dir)
    if status is not None and not isinstance(status, str):
        raise Unreadable(f"{run.status.name} holds no status")
    if status is None:
        status = "running" if epochs else "pending"
    if status == "completed" and (non_finite or any(not math.isfinite(f) for _, f in curve)):
        status = "diverged"
    grids = [grid for grid in run.grids() if inside(grid, job_dir)]
    animation = run.samples / "progress.gif"
    own_animation = animation.is_file() and inside(animation, job_dir)
    return Job(job_dir, read_overrides(job_dir), status, curve, epochs,
               grids[-1] if grids else None, error, diversity,
               animation if own_animation else None)  # fmt: skip


def read_sweep(sweep_dir: Path) -> list[Job]:
    """Every job directory (numbered, with a .hydra folder) of a sweep."""
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir} is not a directory; pass a sweep directory under outputs/")
    job_dirs = sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").is_dir()),
        key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name),
    )
    if not job_dirs:
        raise UserError(f"no jobs in {sweep_dir}; expected numbered job dirs of a multirun")
    return [read_job(d) for d in job_dirs]


def swept_keys(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs: what the sweep varies."""
    keys = sorted({k for job in jobs for k in job.overrides})
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]
