"""Mean and spread of a sweep's results across seeds, per setting of everything else."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from dcgan_lab.report.collect import Job
from dcgan_lab.report.scores import SCORED, Scored, job_means

SEED_KEY = "seed"
COLLAPSE_RATIO = 1.5  # a seed whose final FID is over 1.5x the best seed's counts as collapsed


@dataclass(frozen=True)
class SeedSummary:
    """One setting's scored seeds: final and best FID as mean and sample std."""

    setting: tuple[tuple[str, str], ...]  # the overrides other than the seed
    seeds: tuple[str, ...]
    final: tuple[float, ...]
    best: tuple[float, ...]
    # each seed's fid, precision, ...: at its best-FID validation (the epoch best.ckpt
    # holds), or dcgan-eval's means over draws of its checkpoint (dcgan-report --scores)
    scores: tuple[dict[str, float], ...] = ()

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.setting) or "(defaults)"

    @staticmethod
    def spread(values: tuple[float, ...]) -> float:
        return statistics.stdev(values) if len(values) > 1 else math.nan

    @property
    def final_mean(self) -> float:
        return statistics.fmean(self.final)

    @property
    def best_mean(self) -> float:
        return statistics.fmean(self.best)

    @property
    def worst_over_best(self) -> float:
        """Largest final FID over the smallest: how far the worst seed ended from the best."""
        return max(self.final) / min(self.final)

    @property
    def collapsed(self) -> tuple[str, ...]:
        least = min(self.final)
        return tuple(s for s, f in zip(self.seeds, self.final, strict=True)
                     if f > COLLAPSE_RATIO * least)  # fmt: skip


def scores_at_best(job: Job) -> dict[str, float]:
    """A job's validation scores at its best-FID epoch, FID included."""
    found = {name: job.at_best_fid(name) for name in SCORED if name != "fid"}
    return {"fid": job.best_fid or 0.0} | {n: v for n, v in found.items() if v is not None}


def seed_scores(job: Job, scored: Scored) -> dict[str, float]:
    """dcgan-eval's means when the report was given them (none for a job they lack), else
    the job's validation at its best FID."""
    if scored is None:
        return scores_at_best(job)
    return job_means(scored, job)


def summarise_seeds(jobs: list[Job], keys: list[str], scored: Scored = None) -> list[SeedSummary]:
    """Group completed, scored jobs by their swept keys other than the seed; best first.
    ``scored``: dcgan-eval's scores by job name, which replace the validation ones (a job
    without them adds no scores)."""
    groups: dict[tuple[tuple[str, str], ...], list[Job]] = {}
    for job in jobs:
        if job.status != "completed" or job.final_fid is None or job.best_fid is None:
            continue
        setting = tuple((k, job.overrides.get(k, "-")) for k in keys if k != SEED_KEY)
        groups.setdefault(setting, []).append(job)
    summaries = [
        SeedSummary(
            setting,
            tuple(j.overrides.get(SEED_KEY, "-") for j in group),
            tuple(float(j.final_fid or 0.0) for j in group),
            tuple(float(j.best_fid or 0.0) for j in group),
            tuple(seed_scores(j, scored) for j in group),
        )
        for setting, group in groups.items()
    ]
    return sorted(summaries, key=lambda s: s.final_mean)


def seed_table(summaries: list[SeedSummary]) -> list[str]:
    """Markdown rows: mean ± std of final and best FID, and the worst/best seed ratio."""
    header = ["setting", "seeds", "final FID mean ± std", "best FID mean ± std",
              "worst/best final", "collapsed seeds"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        cells = [
            s.label,
            str(len(s.seeds)),
            f"{s.final_mean:.1f} ± {s.spread(s.final):.1f}",
            f"{s.best_mean:.1f} ± {s.spread(s.best):.1f}",
            f"{s.worst_over_best:.2f}",
            ", ".join(s.collapsed) or "none",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def mean_spread(values: list[float], digits: int = 3) -> str:
    """``mean ± std`` of the values (sample std; one value: the value alone), '-' if none."""
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def quality_table(summaries: list[SeedSummary]) -> list[str]:
    """Markdown rows: each setting's seeds' scores, mean ± std; the class share range as the
    mean rarest and mean commonest share; the copy rate's spread as its largest seed value
    over its smallest."""
    header = ["setting", "seeds scored", "FID", "precision", "recall", "recognisable",
              "class share (rarest - commonest)", "copy rate", "copy rate max/min"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:

        def values(name: str, summary: SeedSummary = s) -> list[float]:
            return [scores[name] for scores in summary.scores if name in scores]

        rarest, commonest = values("class_share_min"), values("class_share_max")
        shares = (f"{statistics.fmean(rarest):.3f} - {statistics.fmean(commonest):.3f}"
                  if rarest and commonest else "-")  # fmt: skip
        copies = values("copy_rate")
        ratio = f"{max(copies) / min(copies):.2f}" if copies and min(copies) > 0 else "-"
        scored = sum(bool(scores) for scores in s.scores)
        cells = [s.label, str(scored), mean_spread(values("fid"), 1),
                 *(mean_spread(values(name)) for name in ("precision", "recall", "recognisable")),
                 shares, mean_spread(copies), ratio]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines
