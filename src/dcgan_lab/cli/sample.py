"""Sampling entry point: ``dcgan-sample ckpt_path=... n=...`` writes an .npz and a PNG grid;
``mode=interpolate`` latent walks, ``mode=animate run=DIR`` a run's training animation."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from dcgan_lab.cli.common import (
    config_dir,
    exit_on_user_error,
    require_writable,
    run_with_clear_errors,
)
from dcgan_lab.errors import UserError
from dcgan_lab.images import save_grid, to_uint8
from dcgan_lab.models.checks import require_choice
from dcgan_lab.models.sampling import NoiseStream, balanced_chunks
from dcgan_lab.pictures.animation import write_animation
from dcgan_lab.pictures.interpolation import save_interpolations
from dcgan_lab.runs.checkpoints import CHECKPOINT_CHOICES, find_checkpoints
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.training.loading import load_module
from dcgan_lab.training.module import DCGANModule


def sampling_line(ckpt: Path, module: DCGANModule) -> str:
    """What is drawn from where; batch statistics come with their caveat."""
    bn = module.hparams["bn_sampling"]
    line = f"sampling {ckpt} ({'EMA' if module.use_ema else 'raw'} generator, BatchNorm {bn} "
    t = module.truncation
    line += f"statistics{f', noise truncated to [-{t:g}, {t:g}]' if t else ''})"
    if bn == "batch":
        line += "; each image depends on the others drawn with it (bn_sampling=standing: not)"
    return line


def every_class(label: Any) -> bool:
    """``label=all``, or no label, which a conditional model draws as ``all``."""
    return label is None or label == "all"


def requested_labels(module: DCGANModule, label: Any, n: int) -> torch.Tensor | None:
    """Labels (n,) for ``label``: one class (an int) or ``all`` (an equal share of every class,
    in class order; also what no label draws from a conditional model), or None for an
    unconditional model."""
    classes = module.num_classes
    if not classes:
        if label is not None:
            raise UserError(f"label={label}: this checkpoint's model is not conditional")
        return None
    if every_class(label):
        return torch.arange(n) * classes // n  # sorted, each class n/classes times (within 1)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < classes:
        raise UserError(f"label={label!r}: choose all or a class in 0..{classes - 1}")
    return torch.full((n,), label)


CHUNK = 1024  # images generated and written at a time: memory stays flat whatever n is
GRID_MAX = 256  # images in the PNG grid


class GridPicks:
    """The images the PNG grid shows, kept from the chunks as they pass: the first 256, or
    with a row per class (``per_class``) the first ``per_class`` images of each class."""

    def __init__(self, per_class: int | None = None) -> None:
        self.per_class = per_class
        self.kept: dict[int, list[torch.Tensor]] = {}  # class (or -1) -> image chunks

    def add(self, images: torch.Tensor, labels: torch.Tensor | None) -> None:
        if self.per_class is None or labels is None:
            have = sum(len(t) for t in self.kept.get(-1, []))
            self.kept.setdefault(-1, []).append(images[: max(GRID_MAX - have, 0)])
            return
        for c in labels.unique().tolist():
            have = sum(len(t) for t in self.kept.get(c, []))
            self.kept.setdefault(c, []).append(images[labels == c][: max(self.per_class - have, 0)])

    def grid(self) -> torch.Tensor:  # (k, C, H, W), classes in order
        return torch.cat([torch.cat(self.kept[c]) for c in sorted(self.kept)])


def write_samples(
    module: DCGANModule, n: int, seed: int, out_dir: Path, label: Any = None
) -> tuple[Path, Path]:
    """Generate ``n`` images; save uint8 (N, H, W) (or (N, H, W, C)) .npz (with ``labels``
    for a conditional model) plus a grid PNG (conditional, label=all: a row per class).

    The images go to the .npz a chunk at a time (a progress bar when there are several),
    so memory does not grow with ``n``; the file appears whole or not at all.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise UserError(f"n={n!r} must be a positive integer (e.g. n=64)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed={seed!r} must be an integer >= 0 (e.g. seed=0)")
    labels = requested_labels(module, label, n)
    rows = labels is not None and every_class(label) and n >= module.num_classes
    per_class = min(n // module.num_classes, 16) if rows else None  # a row per class
    picks = GridPicks(per_class)
    noise_source = NoiseStream(seed, module.latent_dim)  # image i: the same noise at any n

    def chunks() -> Iterator[np.ndarray]:
        sizes = balanced_chunks(n, CHUNK)  # bn_sampling=batch: no chunk of one image
        starts = np.cumsum([0, *sizes[:-1]]).tolist()
        progress = tqdm(zip(starts, sizes, strict=True), desc="sampling", unit="chunk",
                        total=len(sizes), disable=len(sizes) == 1)  # fmt: skip
        for start, size in progress:
            noise = noise_source.take(size)  # (b, Z)
            chunk_labels = labels[start : start + size] if labels is not None else None
            images = to_uint8(module.sample(noise, chunk_labels))  # (b, C, H, W)
            picks.add(images, chunk_labels)
            array = images.permute(0, 2, 3, 1).numpy()  # (b, H, W, C)
            yield array[..., 0] if array.shape[-1] == 1 else array

    out_dir.mkdir(parents=True, exist_ok=True)
    side, channels = module.generator.image_size, module.generator.channels
    shape = (n, side, side) if channels == 1 else (n, side, side, channels)
    npz_path = out_dir / f"samples_{n}.npz"
    write_npz_in_chunks(npz_path, shape, chunks(), labels)
    png_path = save_grid(picks.grid(), out_dir / f"samples_{n}.png", per_class)
    return npz_path, png_path


def write_npz_in_chunks(
    path: Path, shape: tuple[int, ...], chunks: Iterator[np.ndarray], labels: torch.Tensor | None
) -> None:
    """An .npz (``np.load`` reads it) whose ``images`` (uint8, ``shape``) are written and
    compressed a chunk at a time, through a temporary file renamed when complete."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            with archive.open("images.npy", "w", force_zip64=True) as member:
                header = {"descr": "|u1", "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(member, header)
                for chunk in chunks:
                    member.write(np.ascontiguousarray(chunk, dtype=np.uint8).tobytes())
            if labels is not None:
                with archive.open("labels.npy", "w") as member:
                    np.lib.format.write_array(member, labels.numpy())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


MODES = ("sample", "interpolate", "animate")


@hydra.main(config_path=config_dir(), config_name="sample", version_base="1.3")
@exit_on_user_error("dcgan-sample", discard_output=True)
def hydra_main(cfg: DictConfig) -> list[Path]:
    """The written files (the Python API returns them)."""
    if cfg.mode != "animate":
        require_writable("out_dir", Path(cfg.out_dir), folder=True)  # before any work
    require_choice("mode", cfg.mode, MODES)
    if cfg.mode == "animate":
        return animate(cfg.run)
    if cfg.ckpt_path is None:
        raise UserError("ckpt_path is required: add ckpt_path=... to the command")
    require_choice("checkpoint", cfg.checkpoint, CHECKPOINT_CHOICES)
    (ckpt,) = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint, single=True)
    module = load_module(ckpt, cfg.bn_sampling, cfg.generator, cfg.truncation).eval()
    print(sampling_line(ckpt, module))
    if cfg.mode == "interpolate":
        label = cfg.get("label")  # conditional: null or all walk row p in class p mod C
        one_class = None
        if not every_class(label) or not module.num_classes:
            labels = requested_labels(module, label, 1)  # checks label against the model
            one_class = int(labels[0]) if labels is not None else None
        written = save_interpolations(
            module.sample, module.latent_dim, module.num_classes, cfg.pairs, cfg.steps, cfg.seed,
            Path(cfg.out_dir), one_class,
        )  # fmt: skip
        print(f"wrote {' and '.join(str(p) for p in written)}")
        return list(written)
    npz_path, png_path = write_samples(module, cfg.n, cfg.seed, Path(cfg.out_dir), cfg.get("label"))
    print(f"wrote {npz_path} and {png_path}")
    return [npz_path, png_path]


def animate(run: str | None) -> list[Path]:
    """``mode=animate run=DIR``: the run's epoch grids -> ``DIR/samples/progress.gif`` (.mp4)."""
    if run is None:
        raise UserError("mode=animate needs the run: add run=outputs/runs/<date>/<time>")
    run_dir = RunDir(Path(run).expanduser())
    if not run_dir.root.is_dir():
        raise UserError(f"run={run} is not a folder: give a run directory")
    written = write_animation(run_dir.samples)
    print(f"wrote {' and '.join(str(p) for p in written)} ({len(run_dir.grids())} epochs)")
    return list(written)


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-sample")


if __name__ == "__main__":
    main()
