"""A Markdown report of a sweep: jobs table, FID plots, seed summary and the best grid."""

from __future__ import annotations

import shutil
from pathlib import Path

from dcgan_lab.report.collect import Job, read_sweep, swept_keys
from dcgan_lab.report.plots import plot_best_vs_param, plot_fid_curves, plot_precision_recall
from dcgan_lab.report.scores import Scored, describe, job_means, read_scores
from dcgan_lab.report.seeds import (
    COLLAPSE_RATIO,
    SEED_KEY,
    SeedSummary,
    quality_table,
    seed_table,
    summarise_seeds,
)

MARK = {
    "diverged": "DIVERGED", "failed": "FAILED", "unreadable": "UNREADABLE",
    "running": "running", "pending": "pending",
}  # fmt: skip


def ranking_fid(job: Job, scored: Scored) -> float | None:
    """The FID a job is ranked by: dcgan-eval's mean over draws when given (none for a job
    the scores lack), else its best validation."""
    if scored is None:
        return job.best_fid
    return job_means(scored, job).get("fid")


def ranked(jobs: list[Job], scored: Scored = None) -> list[Job]:
    """Scored jobs by FID first (``ranking_fid``), then the rest (failed, diverged,
    unscored)."""
    broken = ("failed", "diverged", "unreadable")
    healthy = [j for j in jobs if ranking_fid(j, scored) is not None and j.status not in broken]
    rest = [j for j in jobs if j not in healthy]
    return sorted(healthy, key=lambda j: ranking_fid(j, scored) or 0.0) + rest


# Scores at the best FID's epoch (the one best.ckpt holds), from the run's metrics.csv, or
# dcgan-eval's (--scores).
DIVERSITY_COLUMNS = ("precision", "recall", "coverage", "copy_rate")
DIVERSITY_HEADER = ("precision", "recall", "coverage", "copy rate")


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(jobs: list[Job], keys: list[str], scored: Scored = None) -> list[str]:
    """One row per job; ``scored``: its scores columns from dcgan-eval, beside an eval FID."""
    evaluated = ["eval FID"] if scored is not None else []
    header = ["rank", "job", *keys, "status", "best FID", "final FID", *evaluated,
              *DIVERSITY_HEADER, "epochs", "note"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rank, job in enumerate(ranked(jobs, scored), 1):
        if scored is None:
            diversity = [fmt(job.at_best_fid(name)) for name in DIVERSITY_COLUMNS]
        else:
            means = job_means(scored, job)
            diversity = [fmt(means.get(name)) for name in ("fid", *DIVERSITY_COLUMNS)]
        cells = [str(rank), job.name, *(job.overrides.get(k, "-") for k in keys),
                 MARK.get(job.status, job.status), fmt(job.best_fid), fmt(job.final_fid),
                 *diversity, str(job.epochs), (job.error or "").replace("|", "/")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


ONE_DRAW = (
    "Scores at each seed's best-FID validation (what best.ckpt holds), one draw each; "
    "`--scores` reads steadier ones from dcgan-eval (docs/metrics.md)."
)


def precision_recall(summaries: list[SeedSummary], out: Path) -> list[str]:
    """The across-seeds precision-recall picture, when the seeds have both scores."""
    rows = {s.label: [(seed["recall"], seed["precision"]) for seed in s.scores
                      if "recall" in seed and "precision" in seed] for s in summaries}  # fmt: skip
    rows = {label: seeds for label, seeds in rows.items() if seeds}
    if not rows:
        return []
    plot_precision_recall(rows, out / "precision_recall.png")
    return ["Each seed's precision against its recall (faint), each setting's mean ± std:", "",
            "![precision against recall](precision_recall.png)", ""]  # fmt: skip


def write_report(
    sweep_dir: Path, out_dir: Path | None = None, scores: list[Path] | None = None
) -> Path:
    """``scores``: dcgan-eval JSONs of the sweep's checkpoints, whose means over draws the
    across-seeds scores then use instead of each job's one-draw validation."""
    jobs = read_sweep(sweep_dir)
    keys = swept_keys(jobs)
    scored = read_scores(scores, sweep_dir, jobs) if scores else None  # before any writing
    out = out_dir or sweep_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Sweep report: {sweep_dir}", ""]
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    lines += [f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()), ""]
    lines += [f"Swept: {', '.join(keys) or '(nothing differs between jobs)'}", ""]
    if scored:
        lines += [describe(scored, jobs), ""]
    lines += [*table(jobs, keys, scored), ""]
    if SEED_KEY in keys:  # a multi-seed sweep: every comparison states its noise
        summaries = summarise_seeds(jobs, keys, scored)
        source = "Each seed's scores from dcgan-eval, as above." if scored else ONE_DRAW
        lines += ["## Across seeds", "",
                  f"Mean and sample standard deviation over seeds; a seed is collapsed when its "
                  f"final FID is over {COLLAPSE_RATIO}x the best seed's.", "",
                  *seed_table(summaries), "", source, "",
                  *quality_table(summaries), ""]  # fmt: skip
        lines += precision_recall(summaries, out)
    order = ranked(jobs, scored)
    best = next((j for j in order if ranking_fid(j, scored) is not None and
                 j.status == "completed"), None)  # fmt: skip
    if best is not None:
        runner_up = next((j for j in order[1:] if ranking_fid(j, scored) is not None), None)
        margin = (f" ({fmt(ranking_fid(runner_up, scored))} for the next best, {runner_up.name})"
                  if runner_up else "")  # fmt: skip
        which = "eval FID" if scored else "best FID"
        setting = ", ".join(f"{k}={best.overrides.get(k)}" for k in keys) or "(only job)"
        lines += [f"Best: job {best.name} ({setting}), {which} "
                  f"{fmt(ranking_fid(best, scored))}{margin}.", ""]  # fmt: skip
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
