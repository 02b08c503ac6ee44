"""The default config's training speed against hand-written loops, side by side in one run.

``Trainer.fit`` trains the default config (its batch size, switches, R1 and EMA; metrics
off; progress bar, checkpoints and sample grids on as in a real run). Every ``--chunk`` batches a
callback pauses it and runs the same number of steps of each hand-written loop
(``loops.py``): ``DefaultLoop``, the same work written by hand, and ``seed_step``, the
seed recipe (latent 100, upsample then conv, NCHW, plain Adam, torch's dropout) at the
same batch size. So
all three share the machine's state within seconds, and the ratios are medians over the
chunks. ``--profile`` then lists where a default step's time goes, outside the maths too.

    python benchmarks/default_speed.py                     # batch 8 and the batch table
    python benchmarks/default_speed.py --precision bf16-mixed
    python benchmarks/default_speed.py --profile 8 --batch-sizes 8
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from common import BatchTimer, MethodTimer, compose_config
from hydra.utils import instantiate
from loops import DefaultLoop, batches, seed_step
from omegaconf import DictConfig
from pytorch_lightning.core.optimizer import LightningOptimizer

from dcgan_lab.cli.train import instantiate_each
from dcgan_lab.models.dropout import UniformMaskDropout
from dcgan_lab.training.divergence import DivergenceWatch
from dcgan_lab.training.ema import GeneratorEMA
from dcgan_lab.training.module import DCGANModule

SEED = ["latent=base", "model.speed.channels_last=false", "model.generator.fused_upsample=false",
        "~model.g_optimizer.fused", "~model.d_optimizer.fused"]  # fmt: skip


def config(*overrides: str) -> DictConfig:
    # Unconditional: the hand-written loops (loops.py) draw from noise alone.
    cfg = compose_config("model.conditional=false", "metrics=none", "logger=csv", *overrides)
    cfg.paths.output_dir = tempfile.mkdtemp(prefix="dcgan-speed-")
    return cfg


def hand_written(
    cfg: DictConfig, seed: bool, adjust: Callable[[DCGANModule], None] | None = None
) -> Callable[[], None]:
    """One step of a hand-written loop on ``cfg``'s networks, optimizers and data
    (``adjust``: changes the module's networks first, e.g. swaps a layer's forward)."""
    pl.seed_everything(0, verbose=False)
    module = instantiate(cfg.model)
    module.configure_model()  # channels_last as the config says
    if adjust is not None:
        adjust(module)
    opt_g, opt_d = module.configure_optimizers()
    images = instantiate(cfg.data).loaded().train_images  # uint8, as the project holds it
    data: Iterator[torch.Tensor] = batches(images, cfg.data.batch_size, 10**9)
    G, D, Z = module.generator, module.discriminator, module.latent_dim
    if seed:
        return lambda: seed_step(G, D, opt_g, opt_d, next(data), Z)
    loss = cfg.model.loss
    loop = DefaultLoop(G, D, module.generator_ema, opt_g, opt_d, Z, loss.r1_weight,
                       loss.r1_every, cfg.model.ema.decay, cfg.model.ema.warmup,
                       cfg.model.speed.channels_last, cfg.model.ema.span)  # fmt: skip
    return lambda: loop.step(next(data))


def torch_dropout(module: DCGANModule) -> None:
    """The seed recipe's D as a user writes it: torch's own dropout, not the project's mask."""
    for layer in module.discriminator.modules():
        if isinstance(layer, UniformMaskDropout):
            layer.forward = super(UniformMaskDropout, layer).forward  # type: ignore[method-assign]


class SideBySide(pl.Callback):
    """Times the project's batches in chunks and runs each loop's chunk between them."""

    def __init__(self, loops: dict[str, Callable[[], None]], chunk: int, warmup: int) -> None:
        self.loops, self.chunk, self.warmup = loops, chunk, warmup
        self.ms: dict[str, list[float]] = defaultdict(list)  # per-step times of each chunk
        self.mark = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        i = trainer.fit_loop.total_batch_idx
        if i < self.warmup or (i - self.warmup) % self.chunk:
            return
        if i > self.warmup:
            self.ms["project"].append((time.perf_counter() - self.mark) / self.chunk * 1e3)
        for name, step in self.loops.items():
            if i == self.warmup:
                for _ in range(self.warmup):
                    step()
            start = time.perf_counter()
            for _ in range(self.chunk):
                step()
            self.ms[name].append((time.perf_counter() - start) / self.chunk * 1e3)
        self.mark = time.perf_counter()


def fit(cfg: DictConfig, callback: pl.Callback, batches_: int) -> None:
    pl.seed_everything(cfg.seed, verbose=False)
    data = instantiate(cfg.data)
    data.setup("fit")
    callbacks = [c for c in instantiate_each(cfg.callbacks) if c is not None]
    trainer = instantiate(
        cfg.trainer, logger=instantiate(cfg.logger.csv), callbacks=[*callbacks, callback],
        max_epochs=-1, max_steps=2 * batches_, limit_val_batches=0,
        enable_progress_bar=True, enable_model_summary=False,  # as a default run
    )  # fmt: skip
    trainer.fit(instantiate(cfg.model), datamodule=data)


def side_by_side(batch: int, precision: str, chunks: int, chunk: int, warmup: int) -> None:
    cfg = config(f"data.batch_size={batch}", f"trainer.precision={precision}")
    size = f"data.batch_size={batch}"
    seed_loop = hand_written(config(size, *SEED), seed=True, adjust=torch_dropout)
    loops = {"default, by hand": hand_written(config(size), seed=False), "seed, by hand": seed_loop}
    timer = SideBySide(loops, chunk, warmup)
    fit(cfg, timer, warmup + chunks * chunk + 1)
    ms = {name: statistics.median(times) for name, times in timer.ms.items()}
    by_hand, seed = ms["default, by hand"], ms["seed, by hand"]
    print(f"  batch {batch:>3}: project {batch / ms['project'] * 1e3:>6.0f} img/s "
          f"({ms['project']:.1f} ms/step) | default by hand {batch / by_hand * 1e3:>6.0f} | "
          f"seed by hand {batch / seed * 1e3:>6.0f} | project / default by hand "
          f"{by_hand / ms['project']:.3f}, / seed by hand {seed / ms['project']:.3f}")  # fmt: skip


def profile(batches_: int, batch: int = 8) -> None:
    """Shares of a default step: the framework's parts, the module's own extras, the maths."""
    parts = MethodTimer()
    parts.wrap(DCGANModule, "training_step", "training_step")
    parts.wrap(DCGANModule, "log_dict", "logging (self.log_dict)")
    parts.wrap(DivergenceWatch, "after_step", "divergence check")
    parts.wrap(GeneratorEMA, "update_parameters", "EMA update")
    parts.wrap(LightningOptimizer, "step", "optimizer step (Lightning's wrapper)")
    parts.wrap(torch.optim.Adam, "step", "optimizer step (Adam itself)")
    parts.wrap(DCGANModule, "manual_backward", "backward (Lightning's wrapper)")
    parts.wrap(torch.autograd, "backward", "backward (autograd itself)")

    class Wall(BatchTimer):
        def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            super().on_train_batch_start(trainer, *args)
            if trainer.fit_loop.total_batch_idx == self.warmup:
                parts.seconds.clear()  # the parts count from the end of the warm-up too

    wall = Wall(warmup=20)
    fit(config(f"data.batch_size={batch}"), wall, 20 + batches_)
    parts.restore()
    s = defaultdict(float, parts.seconds)
    rows = {
        "Lightning's loop, callbacks and data (outside training_step)":
            wall.seconds - s["training_step"],
        "optimizer step: Lightning's wrapper and hooks":
            s["optimizer step (Lightning's wrapper)"] - s["optimizer step (Adam itself)"],
        "backward: Lightning's wrapper and hooks":
            s["backward (Lightning's wrapper)"] - s["backward (autograd itself)"],
        "logging (self.log_dict, every 10th step)": s["logging (self.log_dict)"],
        "divergence check": s["divergence check"],
        "EMA update": s["EMA update"],
        "Adam steps": s["optimizer step (Adam itself)"],
        "backward passes": s["backward (autograd itself)"],
    }  # fmt: skip
    rows["forward passes, losses, R1, stats (the rest of training_step)"] = wall.seconds - sum(
        rows.values()
    )
    print(f"\nwhere a default step's time goes ({batches_} batches of {batch}, "
          f"{wall.seconds / batches_ * 1e3:.1f} ms/step):")  # fmt: skip
    for name, seconds in rows.items():
        print(f"  {name:<64}{seconds / batches_ * 1e3:>7.2f} ms {seconds / wall.seconds:>7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="8,4,16,32,64")
    parser.add_argument("--precision", default="32-true", help="the project's trainer.precision")
    parser.add_argument("--chunks", type=int, default=12)
    parser.add_argument("--chunk", type=int, default=8, help="batches per timed chunk")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--profile", type=int, default=0, help="also profile this batch size")
    args = parser.parse_args()
    chunks = f"medians of {args.chunks} chunks of {args.chunk} batches, alternating"
    print(f"CPU, {torch.get_num_threads()} threads; {chunks}; trainer.precision={args.precision}")
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        side_by_side(batch, args.precision, args.chunks, args.chunk, args.warmup)
    if args.profile:
        profile(batches_=max(50, 1600 // args.profile), batch=args.profile)


if __name__ == "__main__":
    main()
