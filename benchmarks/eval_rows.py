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

from dcgan_lab.report.plots import plot_precision_recall  # dcgan-report's picture
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
        points = {
            name: [(e["recall"], e["precision"]) for e in evals] for name, evals in rows.items()
        }
        print(f"wrote {plot_precision_recall(points, args.plot, (min_p, min_r))}")


if __name__ == "__main__":
    main()
