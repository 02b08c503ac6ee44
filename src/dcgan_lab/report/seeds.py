"""Mean and spread of a sweep's results across seeds, per setting of everything else."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from dcgan_lab.report.collect import Job

SEED_KEY = "seed"
COLLAPSE_RATIO = 1.5  # a seed whose final FID is over 1.5x the best seed's counts as collapsed


@dataclass(frozen=True)
class SeedSummary:
    """One setting's scored seeds: final and best FID as mean and sample std."""

    setting: tuple[tuple[str, str], ...]  # the overrides other than the seed
    seeds: tuple[str, ...]
    final: tuple[float, ...]
    best: tuple[float, ...]

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


def summarise_seeds(jobs: list[Job], keys: list[str]) -> list[SeedSummary]:
    """Group completed, scored jobs by their swept keys other than the seed; best first."""
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
