"""What scoring 10,000 generated images with every metric costs, stage by stage.

Builds the dataset's scorer (extractor from the cache, real and training features), then
scores ``--n`` images from a checkpoint with FID, KID, IS, precision/recall/density/coverage,
class coverage, memorisation and FID-infinity, timing each stage in one process. Usage:

    python benchmarks/scoring_cost.py CKPT_OR_RUN_DIR [--n 10000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict
from pathlib import Path

import hydra
import torch
from common import MethodTimer, compose_config

from dcgan_lab.cli.evaluate import run_data
from dcgan_lab.metrics import quality as quality_module
from dcgan_lab.metrics.manifold import precision_recall_density_coverage
from dcgan_lab.runs.checkpoints import find_checkpoints
from dcgan_lab.training.loading import load_module

BUDGET_S = 60.0  # issue 17: every metric on 10,000 samples within a minute on 2 cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    (ckpt,) = find_checkpoints(args.checkpoint, "last", single=True)
    cfg = compose_config(f"metrics.n_fake={args.n}", "metrics.fid_infinity=true", name="eval")
    data = run_data(ckpt)
    start = time.perf_counter()
    quality, _ = hydra.utils.instantiate(cfg.metrics)(data)
    setup_s = time.perf_counter() - start
    module = load_module(ckpt).eval()
    stages = {"add_fake": "features + FID/KID/IS updates", "compute": "compute (all scores)"}
    set_stages = {"precision_recall_density_coverage": "precision/recall/density/coverage",
                  "fid_infinity": "FID-infinity", "class_coverage": "class coverage"}  # fmt: skip
    seconds: dict[str, list[float]] = defaultdict(list)
    totals = []
    for _ in range(args.repeats):
        cls = type(quality)
        timer = MethodTimer()
        with timer.timing(cls, stages), timer.timing(quality_module, set_stages):
            start = time.perf_counter()
            scores = quality.score(module.sample, module.latent_dim, torch.device("cpu"),
                                   module.num_classes)  # fmt: skip
            totals.append(time.perf_counter() - start)
        for name, value in timer.seconds.items():
            seconds[name].append(value)
    total = statistics.median(totals)
    print(f"\nscorer setup (extractor from cache, real + training features): {setup_s:.1f} s")
    print(f"scoring {args.n} images, median of {args.repeats}: {total:.1f} s "
          f"({total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget)\n")  # fmt: skip
    print(f"{'stage':<40}{'s':>8}{'share':>8}")
    generation = (
        total
        - statistics.median(seconds[stages["add_fake"]])
        - statistics.median(seconds[stages["compute"]])
    )
    print(
        f"{'generation (the checkpoint sampling)':<40}{generation:>8.1f}{generation / total:>8.0%}"
    )
    for name in [*stages.values(), *set_stages.values()]:
        value = statistics.median(seconds[name])
        indent = "  " if name in set_stages.values() else ""
        print(f"{indent + name:<40}{value:>8.1f}{value / total:>8.0%}")
    print(
        f"\nn_fake {scores['n_fake']:.0f}, fid {scores['fid']:.1f}, "
        f"precision {scores['precision']:.3f}, copy rate {scores['copy_rate']:.3f}"
    )
    large_prdc()


def large_prdc(n: int = 10_000, dim: int = 128) -> None:
    """Precision/recall/density/coverage of 10,000 x 10,000 features: time and peak memory."""
    source = torch.Generator().manual_seed(0)
    real, fake = torch.randn(n, dim, generator=source), torch.randn(n, dim, generator=source)
    start = time.perf_counter()
    precision_recall_density_coverage(real, fake)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"precision/recall/density/coverage of {n} x {n} features ({dim}-d): {seconds:.1f} s, "
        f"peak RSS of this process {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
