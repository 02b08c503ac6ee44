"""PNG plots of a sweep: FID over epochs per job, best FID against each swept parameter,
precision against recall per setting."""

from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib.pyplot as plt

from dcgan_lab.figures import save_figure
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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


def plot_precision_recall(
    rows: dict[str, list[tuple[float, float]]],
    path: Path,
    target: tuple[float, float] | None = None,
) -> Path:
    """Recall (x) against precision (y), ``rows``: setting -> each seed's (recall, precision).
    Each seed a faint point, each setting its mean with the seeds' standard deviation as bars;
    ``target`` (min precision, min recall): that corner shaded and the line of equal
    precision + recall through it dashed, so a row's distance to it reads at a glance."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    points = [point for seeds in rows.values() for point in seeds]
    if target is not None:
        min_p, min_r = target
        ax.fill_between([min_r, 1.0], min_p, 1.0, color="tab:green", alpha=0.12,
                        label=f"targets: precision ≥ {min_p}, recall ≥ {min_r}")  # fmt: skip
        ax.plot([0.0, 1.0], [min_p + min_r, min_p + min_r - 1.0], "--", color="grey",
                linewidth=0.8, label=f"precision + recall = {min_p + min_r:.2f}")  # fmt: skip
        points.append((min_r, min_p))
    for i, (name, seeds) in enumerate(rows.items()):
        color = f"C{i % 10}"
        recall, precision = [r for r, _ in seeds], [p for _, p in seeds]
        ax.scatter(recall, precision, color=color, alpha=0.3, s=14)
        mean = (statistics.fmean(recall), statistics.fmean(precision))
        ax.errorbar(*mean, xerr=_sd(recall), yerr=_sd(precision), color=color, marker="o",
                    capsize=3, label=name)  # fmt: skip
    xs, ys = [x for x, _ in points], [y for _, y in points]
    ax.set(xlabel="recall", ylabel="precision", title="precision against recall, per seed")
    ax.set(xlim=(min(xs) - 0.02, max(xs) + 0.02), ylim=(min(ys) - 0.02, max(ys) + 0.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return save_figure(fig, path, dpi=120)


def _sd(values: list[float]) -> float:
    """The error bar: the seeds' sample standard deviation, none for one seed."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _numeric_first(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
