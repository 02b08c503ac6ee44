"""Rows of dcgan-eval results (one JSON per seed) as an across-seeds table and one picture of
precision against recall, with the targets' corner and the line of equal precision + recall.

Each row is ``NAME=GLOB``: the ``eval.json`` files of one setting, one per seed, best scored
with ``draws=10`` so that each point is a checkpoint's mean over draws. Prints, per row, the
mean over seeds ± the standard deviation across seeds of FID, precision, recall and the
recognisable share, the class-share range, the copy rate with its spread (the seeds' max over
min) and precision + recall. Usage:

    for run in outputs/study/<row>_s*; do
        dcgan-eval ckpt_path=$run draws=10 cas=0 copies=0 out=evals/$(basename $run).json
    done
    python benchmarks/eval_rows.py --row "the default=evals/default_s*.json" \\
        --row "bf16_cpu=evals/bf16_cpu_s*.json" --target 0.80,0.85 --plot pr.png
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from dcgan_lab.report.seeds import mean_spread  # dcgan-report's across-seeds cells

SCORES = ("fid", "precision", "recall", "recognisable")


def load_rows(specs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """NAME=GLOB specs -> each row's eval.json rows (every checkpoint row of every file)."""
    rows = {}
    for spec in specs:
        name, sep, pattern = spec.rpartition("=")  # a name may hold "="
        files = sorted(glob.glob(pattern))
        if not sep or not files:
            raise SystemExit(f"--row {spec!r}: give NAME=GLOB matching dcgan-eval JSON files")
        rows[name] = [row for f in files for row in json.loads(Path(f).read_text())]
    return rows


def mean_sd(values: list[float]) -> tuple[float, float]:
    """The plot's point and error bar (no bar for one seed)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd


def table(rows: dict[str, list[dict[str, Any]]]) -> str:
    columns = ["row", "seeds", "FID", "precision", "recall", "recognisable", "class share",
               "copy rate (spread)", "P + R"]  # fmt: skip
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for name, evals in rows.items():
        cells = [mean_spread([e[key] for e in evals], 1 if key == "fid" else 3) for key in SCORES]
        low = min(e["class_share_min"] for e in evals)
        high = max(e["class_share_max"] for e in evals)
        copies = [e["copy_rate"] for e in evals]
        spread = max(copies) / min(copies) if min(copies) > 0 else float("inf")
        both = statistics.fmean(e["precision"] + e["recall"] for e in evals)
        lines.append(
            f"| {name} | {len(evals)} | {' | '.join(cells)} | {low:.3f} - {high:.3f} | "
            f"{statistics.fmean(copies):.3f} ({spread:.2f}x) | {both:.3f} |"
        )
    return "\n".join(lines)


def plot(rows: dict[str, list[dict[str, Any]]], target: tuple[float, float], path: Path) -> None:
    """Recall (x) against precision (y): each seed a faint point, each row its mean with the
    seeds' standard deviation as bars; the targets' corner shaded, P + R at the corner dashed."""
    min_p, min_r = target
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.fill_between([min_r, 1.0], min_p, 1.0, color="tab:green", alpha=0.12,
                    label=f"targets: precision ≥ {min_p}, recall ≥ {min_r}")  # fmt: skip
    line = [0.0, 1.0]
    ax.plot(line, [min_p + min_r - x for x in line], "--", color="grey", linewidth=0.8,
            label=f"precision + recall = {min_p + min_r:.2f}")  # fmt: skip
    for i, (name, evals) in enumerate(rows.items()):
        color = f"C{i % 10}"
        recall = [e["recall"] for e in evals]
        precision = [e["precision"] for e in evals]
        ax.scatter(recall, precision, color=color, alpha=0.3, s=14)
        (r, r_sd), (p, p_sd) = mean_sd(recall), mean_sd(precision)
        ax.errorbar(r, p, xerr=r_sd, yerr=p_sd, color=color, marker="o", capsize=3, label=name)
    points = [(e["recall"], e["precision"]) for evals in rows.values() for e in evals]
    xs, ys = [x for x, _ in points] + [min_r], [y for _, y in points] + [min_p]
    ax.set(xlabel="recall", ylabel="precision", xlim=(min(xs) - 0.02, max(xs) + 0.02),
           ylim=(min(ys) - 0.02, max(ys) + 0.02))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", action="append", required=True, help="NAME=GLOB of eval JSONs")
    parser.add_argument("--target", default="0.80,0.85", help="precision,recall (the corner)")
    parser.add_argument("--plot", type=Path, help="where to write the picture (PNG)")
    args = parser.parse_args()
    min_p, min_r = (float(v) for v in args.target.split(","))
    rows = load_rows(args.row)
    print(table(rows))
    if args.plot:
        plot(rows, (min_p, min_r), args.plot)


if __name__ == "__main__":
    main()
