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

from hydra import compose, initialize_config_dir

from dcgan_lab.cli.common import config_dir
from dcgan_lab.cli.train import train
from dcgan_lab.metrics.quality import SampleQuality


class ScoreTimer:
    """Wraps SampleQuality.score to add up the seconds spent scoring."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._score = SampleQuality.score

    def __enter__(self) -> ScoreTimer:
        timer, original = self, self._score

        def timed(quality: SampleQuality, *args: object, **kwargs: object) -> dict[str, float]:
            start = time.perf_counter()
            try:
                return original(quality, *args, **kwargs)  # type: ignore[arg-type]
            finally:
                timer.seconds += time.perf_counter() - start
                timer.calls += 1

        SampleQuality.score = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        SampleQuality.score = self._score  # type: ignore[method-assign]


def timed_run(overrides: list[str], out: Path) -> float:
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.output_dir={out}", *overrides])
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
            with ScoreTimer() as timer:
                on.append(timed_run(base, Path(tmp) / f"on{i}"))
            scoring.append(timer.seconds)
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
