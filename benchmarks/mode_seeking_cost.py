"""What mode seeking costs per training step, side by side in one process.

Each row is ``Trainer.fit`` on the default config plus the row's overrides (metrics and
validation off, CSV logging on; ``throughput.run_project``), over the same batches of
mnist5k. Rows alternate, round after round, and the table shows each row's median images/s
and its ratio to the default:

- the default, and the default with a D without dropout (what the mode-seeking rows use);
- mode seeking in pixels (``technique=mode_seeking``: G's pass on the twin latents);
- mode seeking in D's feature space, as it runs: one D pass over [fakes, twins] gives G's
  logits and both feature maps;
- the same with the fakes' logits from a pass of their own (``critic_is_plain`` forced
  off), as it ran before: what the shared pass saves.

    python benchmarks/mode_seeking_cost.py                     # 1 thread, as the study's jobs
    python benchmarks/mode_seeking_cost.py --threads 2 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
from common import compose_config
from throughput import run_project

from dcgan_lab.training.objective import AdversarialObjective

FEATURES = ["technique=mode_seeking", "dropout=none", "model.mode_seeking.space=discriminator",
            "model.mode_seeking.weight=0.6"]  # fmt: skip
ROWS: dict[str, tuple[list[str], bool]] = {  # name: (overrides, D's logits in a pass of their own)
    "the default": ([], False),
    "D without dropout": (["dropout=none"], False),
    "mode seeking, pixels": (["technique=mode_seeking", "dropout=none"], False),
    "mode seeking, D's features (one D pass)": (FEATURES, False),
    "mode seeking, D's features (two D passes)": (FEATURES, True),
}


@contextmanager
def separate_logits_pass() -> Iterator[None]:
    """G's step scores its fakes in their own D pass, as before the passes were shared."""
    saved = AdversarialObjective.critic_is_plain
    AdversarialObjective.critic_is_plain = property(lambda self: False)
    try:
        yield
    finally:
        AdversarialObjective.critic_is_plain = saved


def images_per_second(overrides: list[str], separate: bool, batches: int, warmup: int) -> float:
    """``throughput.run_project`` on the default config plus ``overrides``, unscored."""
    cfg = compose_config("metrics=none", "logger=csv", "seed=1", *overrides)
    with separate_logits_pass() if separate else nullcontext():
        return run_project(cfg, "cpu", batches, warmup, "", metrics=False).images_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rates: dict[str, list[float]] = {name: [] for name in ROWS}
    for round_ in range(args.rounds):
        for name, (overrides, separate) in ROWS.items():
            rates[name].append(images_per_second(overrides, separate, args.batches, args.warmup))
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    base = statistics.median(rates["the default"])
    print(f"\n{args.threads} thread(s), batch 8, median of {args.rounds} rounds\n")
    print("| row | images/s | against the default |")
    print("| --- | --- | --- |")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:.0f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
