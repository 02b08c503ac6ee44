"""dcgan-eval's scores of a sweep's checkpoints, matched to its jobs (``dcgan-report --scores``).

A job's validation scores are one draw of 1,000 images each, as noisy as the gaps a study
looks for (``docs/metrics.md``, "How far one score can be trusted"). ``dcgan-eval
ckpt_path=<sweep dir> draws=10 out=<file>`` scores each job's checkpoint over 10 draws; the
report then reads each seed's mean over those draws instead.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcgan_lab.errors import UserError
from dcgan_lab.report.collect import Job

# Each seed's scores, read from a dcgan-eval row (means over its draws) or from validation.
SCORED = ("fid", "precision", "recall", "coverage", "recognisable", "class_share_min",
          "class_share_max", "copy_rate")  # fmt: skip


@dataclass(frozen=True)
class CheckpointScores:
    """One job's checkpoint as dcgan-eval scored it."""

    checkpoint: str  # the file's name: best.ckpt or last.ckpt
    draws: int
    means: dict[str, float]  # SCORED names -> the mean over the draws (one draw: the score)
    spreads: dict[str, float]  # SCORED names -> the sd across draws (draws > 1 only)


Scored = dict[str, CheckpointScores] | None  # dcgan-eval's scores by job name; None: not given


def job_means(scored: dict[str, CheckpointScores], job: Job) -> dict[str, float]:
    """A job's scores as dcgan-eval's means over draws; none for a job the scores lack."""
    return scored[job.name].means if job.name in scored else {}


def how_to_make(sweep_dir: Path, path: Path) -> str:
    return f"dcgan-eval ckpt_path={sweep_dir} draws=10 cas=0 copies=0 out={path}"


def load_rows(path: Path, sweep_dir: Path) -> list[dict[str, Any]]:
    """The rows of one dcgan-eval JSON, or a one-line error that says how to make it."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--scores {path}: no such file; make it with "
                        f"{how_to_make(sweep_dir, path)}") from None  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or type(err).__name__
        raise UserError(f"--scores {path} cannot be read ({reason}); give the JSON that "
                        "dcgan-eval wrote (its out=)") from None  # fmt: skip
    well_formed = isinstance(rows, list) and rows and all(
        isinstance(row, dict) and isinstance(row.get("checkpoint"), str)
        and isinstance(row.get("fid"), int | float) for row in rows
    )  # fmt: skip
    if not well_formed:
        raise UserError(f"--scores {path} is not dcgan-eval output (a JSON list of rows, each "
                        "with checkpoint and fid); give the file its out= wrote")  # fmt: skip
    return rows


def job_of(checkpoint: str, sweep_dir: Path, jobs: dict[str, Job]) -> Job | None:
    """The job whose checkpoint a row scored: ``<sweep>/<job>/checkpoints/<name>.ckpt``,
    matched by those last parts so that dcgan-eval may have run from any folder."""
    parts = Path(checkpoint).parts
    if len(parts) < 4 or parts[-2] != "checkpoints" or parts[-4] != sweep_dir.resolve().name:
        return None
    return jobs.get(parts[-3])


def from_row(row: dict[str, Any]) -> CheckpointScores:
    draws = int((row.get("protocol") or {}).get("draws", 1))
    means = {name: float(row[name]) for name in SCORED if isinstance(row.get(name), int | float)}
    spreads = {name: float(row[f"{name}_sd"]) for name in SCORED
               if isinstance(row.get(f"{name}_sd"), int | float)}  # fmt: skip
    return CheckpointScores(Path(row["checkpoint"]).name, draws, means, spreads)


def read_scores(paths: list[Path], sweep_dir: Path, jobs: list[Job]) -> dict[str, CheckpointScores]:
    """Job name -> its checkpoint's scores, from dcgan-eval JSONs of this sweep. Every row
    must score one of the sweep's jobs, each job once, all with the same checkpoint and draws:
    a table that mixed them would compare unlike things."""
    by_name = {job.name: job for job in jobs}
    found: dict[str, CheckpointScores] = {}
    for path in paths:
        for row in load_rows(path, sweep_dir):
            job = job_of(row["checkpoint"], sweep_dir, by_name)
            if job is None:
                raise UserError(f"--scores {path} scores {row['checkpoint']}, not a checkpoint "
                                f"of {sweep_dir}'s jobs; score this sweep: "
                                f"{how_to_make(sweep_dir, path)}")  # fmt: skip
            if job.name in found:
                raise UserError(f"--scores scores job {job.name} twice ({row['checkpoint']}); "
                                "give each job's checkpoint once")  # fmt: skip
            found[job.name] = from_row(row)
    kinds = {(s.checkpoint, s.draws) for s in found.values()}
    if len(kinds) > 1:
        listed = ", ".join(f"{name} over {draws} draw(s)" for name, draws in sorted(kinds))
        raise UserError(f"--scores mixes {listed}; score every job alike (one checkpoint=, "
                        "one draws=)")  # fmt: skip
    return found


def describe(scores: dict[str, CheckpointScores], jobs: list[Job]) -> str:
    """The report's line on where the across-seeds scores come from and how far one seed's
    score can be trusted (the median sd across draws)."""
    first = next(iter(scores.values()))
    line = (f"Scores of each job's {first.checkpoint} from dcgan-eval, the mean over "
            f"{first.draws} draw(s) of the images")  # fmt: skip
    if first.draws > 1:
        medians = []
        for name, label, digits in (("fid", "FID", 1), ("precision", "precision", 3),
                                    ("recall", "recall", 3)):  # fmt: skip
            sds = [s.spreads[name] for s in scores.values() if name in s.spreads]
            if sds and all(map(math.isfinite, sds)):
                medians.append(f"{label} {statistics.median(sds):.{digits}f}")
        if medians:
            line += "; median sd across draws: " + ", ".join(medians)
    unscored = [job.name for job in jobs if job.status == "completed" and job.name not in scores]
    if unscored:
        line += f". Not scored, so left out: jobs {', '.join(unscored)}"
    return line + "."
