"""Training throughput: a hand-written PyTorch loop vs the project, side by side.

One process, alternating runs over the same in-memory data, same G/D (built from the
same config), same optimizers, batch size and loss. Prints images/s, the ratio to the
reference, achieved GFLOP/s against a matrix-multiply peak measured in the same run,
peak memory, a batch-size table, and the speed switches with the FID each reaches.

    python benchmarks/throughput.py                 # CPU (batch-64 NCHW unfused baseline)
    python benchmarks/throughput.py --device cuda   # GPU: the same runs with trainer=gpu
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from common import BatchTimer, compose_config, sync
from hydra.utils import instantiate
from loops import batches, seed_step
from omegaconf import DictConfig
from torch.utils.flop_counter import FlopCounterMode

from dcgan_lab.training.scoring import ScoreSamples

TMP = Path(tempfile.mkdtemp(prefix="dcgan-bench-"))


@dataclass
class Result:
    name: str
    images_per_s: float
    peak_mb: float
    fid: float | None = None


def config(device: str, *overrides: str) -> DictConfig:
    trainer = "trainer=gpu" if device == "cuda" else "trainer=cpu"
    # The tables' fixed baseline, whatever the defaults: unconditional, batch 64, latent 100,
    # NCHW, upsample then conv, no R1 and no EMA (the reference loop's layout, layers and
    # work; R1's double backward would also stop torch.compile); each speed switch is one
    # override.
    baseline = [
        "model.conditional=false",
        "data.batch_size=64",
        "latent=base",
        "model.loss.r1_weight=0",
        "model.ema.decay=0",
        "model.speed.channels_last=false",
        "model.generator.fused_upsample=false",
    ]
    return compose_config(trainer, *baseline, *overrides)


def fresh_dir(cfg: DictConfig) -> DictConfig:
    """The config with an output dir no other run of this benchmark used."""
    cfg.paths.output_dir = tempfile.mkdtemp(dir=TMP)
    return cfg


def peak_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process high-water mark


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def run_reference(cfg: DictConfig, device: str, n_batches: int, warmup: int) -> Result:
    pl.seed_everything(cfg.seed, verbose=False)
    module = instantiate(cfg.model).to(device)
    G, D = module.generator, module.discriminator
    opt_g, opt_d = module.configure_optimizers()
    images = instantiate(cfg.data).loaded().train_images.to(device)
    reset_peak(device)
    start = 0.0
    for i, real in enumerate(batches(images, cfg.data.batch_size, warmup + n_batches)):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        seed_step(G, D, opt_g, opt_d, real, module.latent_dim)
    sync(device)
    rate = n_batches * cfg.data.batch_size / (time.perf_counter() - start)
    return Result("reference loop", rate, peak_mb(device))


def run_project(
    cfg: DictConfig, device: str, n_batches: int, warmup: int, name: str, metrics: bool
) -> Result:
    """Trainer.fit on the module: CSV logging on; metrics (and their validation) optional."""
    pl.seed_everything(cfg.seed, verbose=False)
    cfg = fresh_dir(cfg.copy())
    data = instantiate(cfg.data)
    data.setup("fit")
    module = instantiate(cfg.model)
    quality = None
    if cfg.metrics:
        quality, _ = instantiate(cfg.metrics)(data)
    timer = BatchTimer(warmup, device)
    scoring = [ScoreSamples(quality)] if metrics and quality is not None else []
    trainer = instantiate(
        cfg.trainer, logger=instantiate(cfg.logger.csv), callbacks=[timer, *scoring],
        max_epochs=-1, max_steps=2 * (warmup + n_batches),  # two optimizer steps per batch
        limit_val_batches=1.0 if metrics else 0, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    reset_peak(device)
    trainer.fit(module, datamodule=data)
    rate = n_batches * cfg.data.batch_size / timer.seconds
    fid = None
    if quality is not None:  # the FID this variant reached after the same number of steps
        module.to(device)
        fid = quality.to(device).score(module.sample, module.latent_dim, module.device)["fid"]
    return Result(name, rate, peak_mb(device), fid)


def flops_per_batch(cfg: DictConfig, device: str) -> int:
    module = instantiate(cfg.model).to(device)
    opt_g, opt_d = module.configure_optimizers()
    real = torch.rand(cfg.data.batch_size, 1, 28, 28, device=device) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        seed_step(module.generator, module.discriminator, opt_g, opt_d, real, module.latent_dim)
    return counter.get_total_flops()


def matmul_peak_gflops(device: str) -> float:
    n = 8192 if device == "cuda" else 4096
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def default_run_peak_rss_mb() -> float:
    """Peak RSS of a real one-epoch default `dcgan-train` (a child process)."""
    run_dir = tempfile.mkdtemp(dir=TMP)
    cmd = [sys.executable, "-m", "dcgan_lab.cli.train", "trainer.max_epochs=1", "logger=csv",
           "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def median_results(results: list[Result]) -> Result:
    fids = [r.fid for r in results if r.fid is not None]
    rate = statistics.median(r.images_per_s for r in results)
    fid = statistics.median(fids) if fids else None
    return Result(results[0].name, rate, max(r.peak_mb for r in results), fid)


def print_table(
    title: str, rows: list[Result], ref: float, flops: int, peak: float, bs: int
) -> None:
    print(f"\n{title}")
    columns = ("variant", "img/s", "vs ref", "GFLOP/s", "of peak", "peak MB", "FID")
    print("{:<34}{:>9}{:>8}{:>9}{:>9}{:>9}{:>8}".format(*columns))
    for r in rows:
        gflops = r.images_per_s / bs * flops / 1e9
        fid = f"{r.fid:.1f}" if r.fid is not None else "-"
        print(f"{r.name:<34}{r.images_per_s:>9.0f}{r.images_per_s / ref:>8.3f}{gflops:>9.1f}"
              f"{gflops / peak:>9.1%}{r.peak_mb:>9.0f}{fid:>8}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batches", type=int, default=140, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-sizes", default="8,16,32,64,128,256,512")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    dev, n, w = args.device, args.batches, args.warmup
    base = config(dev, "metrics.every_n_epochs=1000")  # metrics built, never run mid-training
    peak = matmul_peak_gflops(dev)
    flops = flops_per_batch(base, dev)
    name = (
        torch.cuda.get_device_name() if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    )
    batch = base.data.batch_size
    print(f"device: {name}; fp32 matmul peak {peak:.0f} GFLOP/s; "
          f"{flops / 1e9:.2f} GFLOP per batch of {batch}")  # fmt: skip

    variants = {
        "project (fp32, logging, no metrics)": (base, False),
        "project + metrics every epoch": (config(dev), True),
        "project + bf16-mixed": (
            config(dev, "trainer.precision=bf16-mixed", "metrics.every_n_epochs=1000"),
            False,
        ),
        "project + channels_last": (
            config(dev, "model.speed.channels_last=true", "metrics.every_n_epochs=1000"),
            False,
        ),
        "project + fused_upsample": (
            config(dev, "model.generator.fused_upsample=true", "metrics.every_n_epochs=1000"),
            False,
        ),
        "project + torch.compile": (
            config(dev, "model.speed.compile=true", "metrics.every_n_epochs=1000"),
            False,
        ),
    }
    runs: dict[str, list[Result]] = {"reference loop": []}
    for _ in range(args.repeats):  # alternate, so drift hits every variant alike
        runs["reference loop"].append(run_reference(base, dev, n, w))
        for label, (cfg, with_metrics) in variants.items():
            fid_cfg = cfg if cfg.metrics else base
            result = run_project(fid_cfg, dev, n, w, label, with_metrics)
            runs.setdefault(label, []).append(result)
    rows = [median_results(r) for r in runs.values()]
    title = (f"{n} batches of {batch} after {w} warm-up, median of {args.repeats}; "
             "FID after the same steps (metrics run: scored each epoch)")  # fmt: skip
    print_table(title, rows, rows[0].images_per_s, flops, peak, batch)

    print("\nimages/s by batch size (reference loop | project)")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        cfg = config(dev, f"data.batch_size={bs}", "metrics=none")
        steps = max(20, 4096 // bs)
        ref = run_reference(cfg, dev, steps, 3).images_per_s
        proj = run_project(cfg, dev, steps, 3, "project", False).images_per_s
        print(f"  batch {bs:>4}: {ref:>8.0f} | {proj:>8.0f}  ratio {proj / ref:.3f}")
    if not args.skip_rss and dev == "cpu":
        print(f"\npeak RSS of a one-epoch default dcgan-train: {default_run_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
