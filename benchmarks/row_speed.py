"""Images/s of config rows (the default plus each row's overrides), side by side.

Each row is ``Trainer.fit`` on the default config plus the row's overrides (metrics and
validation off, CSV logging on; ``throughput.run_project``), over the same batches of
mnist5k. Rows alternate, round after round, so the machine's drift hits every row alike,
and the table shows each row's median images/s and its ratio to the first row's. Used by
``mode_seeking_cost.py`` and ``bf16_speed.py``.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext

import torch
from common import compose_config
from throughput import run_project


def images_per_second(
    overrides: list[str],
    batches: int,
    warmup: int,
    during: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> float:
    """``throughput.run_project`` on the default config plus ``overrides``, unscored, with
    ``during()`` entered around the fit (e.g. a patch that restores an older code path)."""
    cfg = compose_config("metrics=none", "logger=csv", "seed=1", *overrides)
    with during():
        return run_project(cfg, "cpu", batches, warmup, "", metrics=False).images_per_s


def arguments(description: str) -> argparse.Namespace:
    """The options every row benchmark takes: threads, rounds, timed and warm-up batches."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=30)
    return parser.parse_args()


def compare(
    rows: Mapping[str, Callable[[int, int], float]], args: argparse.Namespace, heading: str
) -> None:
    """Times each row (a function of timed and warm-up batches giving images/s) once per
    round, alternating, then prints the medians and their ratios to the first row."""
    torch.set_num_threads(args.threads)
    rates: dict[str, list[float]] = {name: [] for name in rows}
    for round_ in range(args.rounds):
        for name, measure in rows.items():
            rates[name].append(measure(args.batches, args.warmup))
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    first = next(iter(rows))
    base = statistics.median(rates[first])
    print(f"\n{args.threads} thread(s), {heading}, median of {args.rounds} rounds\n")
    print(f"| row | images/s | against {first} |")
    print("| --- | --- | --- |")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:.0f} | {rate / base:.2f}x |")
