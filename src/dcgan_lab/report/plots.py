"""PNG plots of a sweep: FID over epochs per job, best FID against each swept parameter."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from dcgan_lab.report.collect import Job


def label(job: Job, keys: list[str]) -> str:
    return f"{job.name}: " + ", ".join(f"{k}={job.overrides.get(k, '-')}" for k in keys)


def plot_fid_curves(jobs: list[Job], keys: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for job in jobs:
        if job.fid_curve:
            epochs, fids = zip(*job.fid_curve, strict=True)
            ax.plot(epochs, fids, marker="o", markersize=3, label=label(job, keys))
    ax.set(xlabel="epoch", ylabel="val/fid (lower is better)", yscale="log",
           title="FID over training")  # fmt: skip
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_best_vs_param(jobs: list[Job], key: str, path: Path) -> Path:
    """Best FID of each job against one swept parameter (categorical x axis)."""
    scored = [(job, fid) for job in jobs if (fid := job.best_fid) is not None]
    values = sorted({job.overrides.get(key, "-") for job in jobs}, key=_numeric_first)
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [values.index(job.overrides.get(key, "-")) for job, _ in scored]
    ax.scatter(xs, [fid for _, fid in scored], alpha=0.8)
    for x, (job, fid) in zip(xs, scored, strict=True):
        ax.annotate(job.name, (x, fid), fontsize=7, xytext=(4, 2), textcoords="offset points")
    ax.set_xticks(range(len(values)), values)
    ax.set(xlabel=key, ylabel="best val/fid", title=f"best FID by {key}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _numeric_first(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
