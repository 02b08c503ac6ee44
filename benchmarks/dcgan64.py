"""The DCGAN paper's networks on 64x64 RGB images from a generated image folder.

Prints G's and D's parameter counts, training images/s (through the LightningModule, with
the default config's training switches) at a few batch sizes, measured side by side in this
one process, then trains for ``--minutes`` and writes that run's last sample grid.

    python benchmarks/dcgan64.py --minutes 3 --out docs/images/dcgan64_folder.png
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from common import BatchTimer, compose_config
from hydra.utils import instantiate
from PIL import Image, ImageDraw

from dcgan_lab.cli.train import follow_data


def write_folder(root: Path, n: int = 600, side: int = 80) -> None:
    """Three classes of coloured shapes on textured backgrounds, saved as PNG (and JPEG)."""
    rng = np.random.default_rng(0)
    for name in ("discs", "squares", "triangles"):
        (root / name).mkdir(parents=True)
    for i in range(n):
        name = ("discs", "squares", "triangles")[i % 3]
        background = rng.integers(0, 80, size=(side, side, 3), dtype=np.uint8)
        picture = Image.fromarray(background)
        draw = ImageDraw.Draw(picture)
        x, y, r = *rng.integers(15, side - 15, size=2), int(rng.integers(8, 15))
        colour = tuple(int(c) for c in rng.integers(120, 256, size=3))
        if name == "discs":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif name == "squares":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
        picture.save(root / name / f"{i:04d}.{'jpg' if i % 5 == 0 else 'png'}")


def build(root: Path, out: Path, *overrides: str):  # type: ignore[no-untyped-def]
    cfg = compose_config(
        "model=dcgan", "data=folder", f"data.source.root={root}", "latent=base", "dropout=none",
        f"paths.output_dir={out}", f"paths.cache_dir={out / 'cache'}", *overrides,
    )  # fmt: skip
    data = instantiate(cfg.data)
    data.setup()
    follow_data(cfg, data)
    return cfg, data, instantiate(cfg.model)


def images_per_s(root: Path, out: Path, batch_size: int, n_batches: int, warmup: int = 3) -> float:
    _, data, model = build(root, out, f"data.batch_size={batch_size}")
    timer = BatchTimer(warmup)
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=2 * (warmup + n_batches), limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[timer],
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    return timer.batches * batch_size / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training time for the grid")
    parser.add_argument("--batches", type=int, default=12, help="timed batches per batch size")
    parser.add_argument("--out", type=Path, default=Path("dcgan64_folder.png"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    root = work / "shapes"
    write_folder(root)
    pl.seed_everything(0, verbose=False)
    cfg, _, model = build(root, work / "probe")
    n = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    print(f"64x64x3, latent 100, width 64: G {n(model.generator):,} parameters, "
          f"D {n(model.discriminator):,}")  # fmt: skip
    print(f"torch threads: {torch.get_num_threads()}")
    for batch_size in (16, 64):
        rate = images_per_s(root, work / f"b{batch_size}", batch_size, args.batches)
        print(f"batch {batch_size}: {rate:.1f} training images/s")
    cfg, data, model = build(root, work / "run", "data.batch_size=64", "metrics=none")
    trainer = pl.Trainer(
        accelerator="cpu", max_time={"seconds": int(args.minutes * 60)}, limit_val_batches=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[instantiate(cfg.callbacks.sample_grid)],
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    grids = sorted((work / "run" / "samples").glob("epoch_*.png"))
    if grids:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(grids[-1], args.out)
        print(f"{trainer.current_epoch} epochs in {args.minutes:g} minutes; grid: {args.out}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
