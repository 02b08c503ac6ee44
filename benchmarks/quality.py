"""Result quality per option: FID mean and spread over seeds, every run side by side.

Each row is a set of overrides; each runs once per seed, ``--jobs`` at a time (one torch
thread each, so the rows share the machine alike). The runs form a sweep directory that
``dcgan-report`` reads; this prints its across-seeds table plus each row's ratio to the
first row. ``--draws 10`` then scores each job's checkpoint (``--checkpoint best`` or
``last``) over 10 draws with dcgan-eval and prints the across-seeds scores from those, as
``dcgan-report --scores`` does (``docs/metrics.md``). Usage:

    python benchmarks/quality.py --rows reference,default,ema_off --seeds 1,2,3 \\
        [--epochs 10] [--max-time 00:00:08:00] [--jobs 2] [--out outputs/quality] \\
        [--draws 10 --checkpoint last] [-- overrides]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dcgan_lab.report.collect import read_sweep
from dcgan_lab.report.scores import Scored, describe, read_scores
from dcgan_lab.report.seeds import quality_table, seed_table, summarise_seeds

# Each option on its own, on top of the default config (conf/model/dcgan.yaml).
ROWS: dict[str, list[str]] = {
    "paper_adam": ["experiment=paper_adam"],
    "keras": ["experiment=keras"],
    # The Keras recipe given the same wall time as the row it is compared with (iterations
    # unbounded; --max-time stops it).
    "keras_same_time": [
        "experiment=keras",
        "~callbacks.stop_at_iteration",
        "trainer.max_epochs=-1",
    ],
    # Epochs unbounded: with --max-time, paper_adam gets the same wall time as the
    # default (whose 35 epochs of batch 8 take longer than paper_adam's 35 of batch 64).
    "paper_adam_same_time": ["experiment=paper_adam", "trainer.max_epochs=-1"],
    "paper_adam_batch_bn": ["experiment=paper_adam", "model.bn_sampling=batch"],
    "default": [],
    "ema_off": ["model.ema.decay=0"],
    "r1_off": ["model.loss.r1_weight=0"],
    "r1_every_step": ["model.loss.r1_every=1"],
    "standing_bn": ["model.bn_sampling=standing"],
    "label_smoothing": ["model.loss.label_smoothing=0.1"],
    "spectral_norm": ["model.discriminator.spectral_norm=true"],
    "no_dropout": ["dropout=none"],
    "ttur": ["optimizer_pair=ttur"],
    "diffaugment": ["model.augment=[translation,cutout]"],
    "batch64": ["data.batch_size=64"],  # the reference's batch: 1/8 of the updates
    "bf16": ["trainer.precision=bf16-mixed"],  # faster steps; FID stalled (docs/results.md)
    # The GPU path beside the same machine's CPU (docs/performance.md, 'Result quality on a
    # GPU'): the default as `trainer=gpu` runs it, in fp32 and in bf16, and on 4 CPU threads.
    "gpu": ["trainer=gpu"],
    "gpu_bf16": ["trainer=gpu", "trainer.precision=bf16-mixed"],
    "cpu_4_threads": ["threads=4"],
    "hinge": ["loss=hinge"],
    "lsgan": ["loss=lsgan"],
    "wgan_gp": ["loss=wgan_gp", "optimizer_pair=wgan"],
}


def run_one(job_dir: Path, overrides: list[str]) -> float:
    """Train in ``job_dir`` (a numbered job of the sweep dir); returns the wall time."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    command = [sys.executable, "-m", "dcgan_lab.cli.train", *overrides, f"hydra.run.dir={job_dir}",
               "logger=csv", "trainer.enable_progress_bar=false"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        print(f"{job_dir.name}: exit {result.returncode}: {result.stderr.strip()[-300:]}")
    return seconds


def score_checkpoints(sweep_dir: Path, checkpoint: str, draws: int) -> Path:
    """dcgan-eval over every job's checkpoint, ``draws`` draws each; its JSON's path."""
    out = sweep_dir / f"eval_{checkpoint}_{draws}_draws.json"
    command = [sys.executable, "-m", "dcgan_lab.cli.evaluate", f"ckpt_path={sweep_dir}",
               f"checkpoint={checkpoint}", f"draws={draws}", "cas=0", "copies=0",
               f"out={out}"]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "WANDB_MODE": "disabled"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="keras,default", help=f"of {', '.join(ROWS)}")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's")
    parser.add_argument("--max-time", default="null", help="wall-time cap per run, DD:HH:MM:SS")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/quality"))
    parser.add_argument(
        "--draws",
        type=int,
        default=0,
        help="score each job's checkpoint over this many draws (0: validation)",
    )
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best")
    parser.add_argument("overrides", nargs="*", help="added to every run")
    args = parser.parse_args()
    rows, seeds = args.rows.split(","), args.seeds.split(",")
    common = list(args.overrides)
    if args.epochs is not None:
        common.append(f"trainer.max_epochs={args.epochs}")
    common.append(f"trainer.max_time={args.max_time}")  # null: epochs decide, not the CPU's 10 min
    jobs = [
        (args.out / str(n), [*ROWS[row], *common, f"seed={seed}", f"+row={row}"])
        for n, (row, seed) in enumerate((r, s) for r in rows for s in seeds)
    ]
    # The +row key only names the row in the report; train ignores unknown top-level keys.
    with ThreadPoolExecutor(args.jobs) as pool:
        seconds = list(pool.map(lambda job: run_one(*job), jobs))
    walls: dict[str, list[float]] = {}
    for (_, overrides), wall in zip(jobs, seconds, strict=True):
        walls.setdefault(overrides[-1].split("=", 1)[1], []).append(wall)
    sweep = read_sweep(args.out)
    scored: Scored = None
    if args.draws:
        scores = score_checkpoints(args.out, args.checkpoint, args.draws)
        scored = read_scores([scores], args.out, sweep)
    summaries = summarise_seeds(sweep, ["+row", "seed"], scored)  # one setting per row
    print("\n".join(seed_table(summaries)))
    print()
    print(describe(scored, sweep) if scored else "At each seed's best-FID validation (one draw):")
    print("\n".join(quality_table(summaries)))
    first = next((s for s in summaries if dict(s.setting).get("+row") == rows[0]), None)
    print()
    for s in summaries:
        row = dict(s.setting).get("+row", "?")
        ratio = f"{s.final_mean / first.final_mean:.2f}" if first else "-"
        wall = sum(walls.get(row, [0.0])) / max(len(walls.get(row, [])), 1)
        print(f"{row}: final FID / {rows[0]}'s = {ratio}, mean wall {wall:.0f} s")


if __name__ == "__main__":
    main()
