"""A Markdown report of a sweep: jobs table, FID plots, seed summary and the best grid."""

from __future__ import annotations

import shutil
from pathlib import Path

from dcgan_lab.report.collect import Job, read_sweep, swept_keys
from dcgan_lab.report.plots import plot_best_vs_param, plot_fid_curves
from dcgan_lab.report.seeds import (
    COLLAPSE_RATIO,
    SEED_KEY,
    quality_table,
    seed_table,
    summarise_seeds,
)

MARK = {
    "diverged": "DIVERGED", "failed": "FAILED", "unreadable": "UNREADABLE",
    "running": "running", "pending": "pending",
}  # fmt: skip


def ranked(jobs: list[Job]) -> list[Job]:
    """Scored jobs by best FID first, then the rest (failed, diverged, unscored)."""
    broken = ("failed", "diverged", "unreadable")
    healthy = [j for j in jobs if j.best_fid is not None and j.status not in broken]
    rest = [j for j in jobs if j not in healthy]
    return sorted(healthy, key=lambda j: j.best_fid or 0.0) + rest


# Scores at the best FID's epoch (the one best.ckpt holds), from the run's metrics.csv.
DIVERSITY_COLUMNS = ("precision", "recall", "coverage", "copy_rate")
DIVERSITY_HEADER = ("precision", "recall", "coverage", "copy rate")


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(jobs: list[Job], keys: list[str]) -> list[str]:
    header = ["rank", "job", *keys, "status", "best FID", "final FID", *DIVERSITY_HEADER,
              "epochs", "note"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rank, job in enumerate(ranked(jobs), 1):
        diversity = [fmt(job.at_best_fid(name)) for name in DIVERSITY_COLUMNS]
        cells = [str(rank), job.name, *(job.overrides.get(k, "-") for k in keys),
                 MARK.get(job.status, job.status), fmt(job.best_fid), fmt(job.final_fid),
                 *diversity, str(job.epochs), (job.error or "").replace("|", "/")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_report(sweep_dir: Path, out_dir: Path | None = None) -> Path:
    jobs = read_sweep(sweep_dir)
    keys = swept_keys(jobs)
    out = out_dir or sweep_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Sweep report: {sweep_dir}", ""]
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    lines += [f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()), ""]
    lines += [f"Swept: {', '.join(keys) or '(nothing differs between jobs)'}", ""]
    lines += [*table(jobs, keys), ""]
    if SEED_KEY in keys:  # a multi-seed sweep: every comparison states its noise
        summaries = summarise_seeds(jobs, keys)
        lines += ["## Across seeds", "",
                  f"Mean and sample standard deviation over seeds; a seed is collapsed when its "
                  f"final FID is over {COLLAPSE_RATIO}x the best seed's.", "",
                  *seed_table(summaries), "",
                  "Scores at each seed's best-FID epoch (what best.ckpt holds), mean ± std over "
                  "seeds:", "", *quality_table(summaries), ""]  # fmt: skip
    best = next(
        (j for j in ranked(jobs) if j.best_fid is not None and j.status == "completed"), None
    )
    if best is not None:
        runner_up = next((j for j in ranked(jobs)[1:] if j.best_fid is not None), None)
        margin = (f" ({fmt(runner_up.best_fid)} for the next best, {runner_up.name})"
                  if runner_up else "")  # fmt: skip
        setting = ", ".join(f"{k}={best.overrides.get(k)}" for k in keys) or "(only job)"
        lines += [f"Best: job {best.name} ({setting}), best FID {fmt(best.best_fid)}{margin}.", ""]
        if best.grid is not None:
            shutil.copyfile(best.grid, out / "best_grid.png")
            lines += ["![best run's last sample grid](best_grid.png)", ""]
        if best.animation is not None:
            shutil.copyfile(best.animation, out / "best_progress.gif")
            lines += ["Its training, one frame per epoch:", "",
                      "![best run's training animation](best_progress.gif)", ""]  # fmt: skip
    plot_fid_curves(jobs, keys, out / "fid_curves.png")
    lines += ["## FID over epochs", "", "![FID curves](fid_curves.png)", ""]
    for key in keys:
        name = f"best_fid_vs_{key.replace('@', '_').replace('/', '_').replace('.', '_')}.png"
        plot_best_vs_param(jobs, key, out / name)
        lines += [f"## Best FID by {key}", "", f"![best FID by {key}]({name})", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report
