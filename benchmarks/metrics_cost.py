"""What FID/KID/IS scoring costs a default training run, measured side by side.

Runs the default config for a few epochs with metrics off and on, alternating, in one
process, and times the scoring calls inside the runs with metrics on. Usage:

    python benchmarks/metrics_cost.py [--epochs 3] [--repeats 2] [overrides ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import MethodTimer, compose_config

from dcgan_lab.cli.train import train
from dcgan_lab.metrics.quality import SampleQuality


def timed_run(overrides: list[str], out: Path) -> float:
    cfg = compose_config(f"paths.output_dir={out}", *overrides)
    start = time.perf_counter()
    train(cfg)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    base = [f"trainer.max_epochs={args.epochs}", "logger=csv",
            "trainer.enable_progress_bar=false", *args.overrides]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        timed_run([*base, "trainer.max_epochs=1"], Path(tmp) / "warm")  # extractor + caches
        off, on, scoring = [], [], []
        for i in range(args.repeats):
            off.append(timed_run([*base, "metrics=none"], Path(tmp) / f"off{i}"))
            with MethodTimer().timing(SampleQuality, {"score": "scoring"}) as timer:
                on.append(timed_run(base, Path(tmp) / f"on{i}"))
            scoring.append(timer.seconds["scoring"])
    header = ("run", "metrics off s", "metrics on s", "scoring s", "scoring share")
    print("\n{:<6}{:>15}{:>14}{:>11}{:>15}".format(*header))
    for i, (a, b, s) in enumerate(zip(off, on, scoring, strict=True)):
        print(f"{i:<6}{a:>15.1f}{b:>14.1f}{s:>11.1f}{s / b:>15.1%}")
    total_on, total_off = sum(on), sum(off)
    print(f"\nscoring share of wall time with metrics on: {sum(scoring) / total_on:.1%}")
    overhead = 1 - total_off / total_on
    print(f"wall-time ratio on/off: {total_on / total_off:.3f} (overhead {overhead:.1%})")


if __name__ == "__main__":
    main()
