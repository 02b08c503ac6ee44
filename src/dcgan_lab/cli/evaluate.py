"""``dcgan-eval ckpt_path=...`` (or ``samples=... data=...``): score checkpoints (or images
from any generator) and print them against the real floor, with the protocol in the JSON."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from dcgan_lab.cli.common import (
    config_dir,
    exit_on_user_error,
    require_writable,
    run_with_clear_errors,
)
from dcgan_lab.data.datamodule import ImageDataModule, to_signed_unit
from dcgan_lab.data.image_files import read_images
from dcgan_lab.errors import UserError
from dcgan_lab.export.generator_file import FORMATS, load_generator_file
from dcgan_lab.metrics.build import default_extractor_steps
from dcgan_lab.metrics.classification_accuracy import classification_accuracy_score
from dcgan_lab.metrics.conditional import conditional_scores
from dcgan_lab.metrics.draws import require_draws, score_draws
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models.sampling import require_truncation
from dcgan_lab.pictures.class_plot import plot_class_histogram
from dcgan_lab.pictures.copies import save_copies
from dcgan_lab.pictures.latent_scales import check_scales, latent_scale_sweep, plot_latent_scales
from dcgan_lab.runs.checkpoints import find_checkpoints
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.targets import require_buildable
from dcgan_lab.training.loading import load_module
from dcgan_lab.training.module import DCGANModule

COLUMNS = [
    "generator",
    "bn_sampling",
    "truncation",
    "fid",
    "floor_fid",
    "kid_mean",
    "precision",
    "recall",
    "density",
    "coverage",
    "class_entropy",
    "recognisable",
    "copy_rate",
    "label_accuracy",
    "intra_fid",
    "cas",
    "cas_real",
    "n_fake",
]  # fmt: skip; the JSON holds every score and the protocol
GENERATOR_FILES = tuple(FORMATS.values())  # generator=FILE: an exported generator
BY_CONSTRUCTION = ("memorisation_ratio", "copy_rate")  # the floor scores training images


def run_data(ckpt: Path, data_root: str | None = None) -> ImageDataModule:
    """The datamodule the checkpoint's run trained on (from its resolved config.yaml);
    ``data_root``: where the run's data folder is now, if it moved."""
    run = RunDir.of_checkpoint(ckpt)
    config = run.config if run is not None else ckpt.parent / "config.yaml"
    if not config.is_file():
        raise UserError(f"{config} not found: dcgan-eval reads the run's data from it")
    node = OmegaConf.load(config).data
    require_buildable(OmegaConf.to_container(node), str(config))
    root = (node.get("source") or {}).get("root")
    if root is not None and data_root is not None:
        node.source.root = root = data_root
    if root is not None and not Path(root).expanduser().exists():
        raise UserError(
            f"the data folder {root} that {config} names is not there: if it moved, add "
            "data_root=<where it is now>"
        )
    return hydra.utils.instantiate(node)


def real_floor(quality: SampleQuality, data: ImageDataModule) -> dict[str, Any]:
    """The scores of training images against the held-out set (disjoint real splits).

    Uses as many training images as images are scored (fewer if the split is smaller),
    so a score can be read against what two real samples of that size give. The
    memorisation scores are left out: training images are copies by construction.
    """
    train = data.loaded().train_images
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    for chunk in train[order[: quality.n_fake]].split(500):
        quality.add_fake(to_signed_unit(chunk))
    scores = quality.compute()
    real = {k: v for k, v in scores.items() if not k.startswith(BY_CONSTRUCTION)}
    return {"floor_fid": scores["fid"], "floor_n": scores["n_fake"], "floor": real}


Scorer = tuple[SampleQuality, Any, dict[str, Any]]  # quality, extractor info, real floor


def scorer_for(data: ImageDataModule, metrics_cfg: DictConfig, cache: dict[str, Scorer]) -> Scorer:
    """One scorer (extractor, real statistics, training neighbours, floor) per dataset."""
    key = repr(data.source)
    if key not in cache:
        quality, info = hydra.utils.instantiate(metrics_cfg)(data)
        cache[key] = (quality, info, real_floor(quality, data))
    return cache[key]


def protocol(
    quality: SampleQuality,
    info: Any,
    metrics_cfg: DictConfig,
    n_fake: float,
    draws: int,
    **sampler: Any,
) -> dict[str, Any]:
    """How the scores were made, so that someone else can make them again."""
    return {
        "n_real": quality.n_real,
        "n_fake": int(n_fake),
        "real_split": "held-out (the dataset's validation split, first n_real images)",
        "train_reference": "the training split (memorisation)",
        **sampler,
        "seed": quality.seed,
        "draws": draws,  # draw i's noise: seed + i (metrics/draws.py)
        **extractor_columns(info, metrics_cfg),
    }


def extractor_columns(info: Any, metrics_cfg: DictConfig) -> dict[str, Any]:
    return {"extractor": info.id if info else metrics_cfg.features,
            "extractor_acc": info.accuracy if info else None}  # fmt: skip


def table_row(
    source: Path,
    data: ImageDataModule,
    sampler: dict[str, Any],
    scores: dict[str, float],
    scorer: Scorer,
    metrics_cfg: DictConfig,
    draws: int = 1,
) -> dict[str, Any]:
    """One JSON row: what was scored, how it was sampled, the scores, the floor, the protocol."""
    quality, info, floor = scorer
    how = protocol(quality, info, metrics_cfg, scores["n_fake"], draws, **sampler)
    return {"checkpoint": str(source), "data": data.name, **sampler, **scores, **floor,
            **extractor_columns(info, metrics_cfg), "protocol": how}  # fmt: skip


def slug(path: Path) -> str:
    """A file-name stem for a checkpoint (run folder + checkpoint) or a samples file."""
    if path.parent.name == "checkpoints":
        return f"{path.parent.parent.name}_{path.stem}"
    return path.stem


def evaluate(
    ckpt: Path, cfg: DictConfig, cache: dict[str, Scorer], out_dir: Path, scales: list[float]
) -> dict[str, Any]:
    data = run_data(ckpt, cfg.get("data_root"))
    quality, info, floor = scorer_for(data, cfg.metrics, cache)
    module = load_module(ckpt, cfg.bn_sampling, cfg.generator, cfg.truncation).eval()
    device = torch.device("cpu")
    sampler = {"generator": "ema" if module.use_ema else "raw",
               "bn_sampling": module.hparams["bn_sampling"],
               "truncation": module.truncation}  # fmt: skip
    scores = score_draws(
        quality, module.sample, module.latent_dim, device, module.num_classes, cfg.draws
    )
    row = table_row(ckpt, data, sampler, scores, (quality, info, floor), cfg.metrics, cfg.draws)
    row |= pictures(quality, data, out_dir / slug(ckpt), cfg.copies)
    if module.num_classes and module.clusters is None:  # clusters are no classes to check
        row |= conditional_scores(
            quality, module.sample, module.latent_dim, module.num_classes, device
        )
        if cfg.cas:
            splits = data.loaded()
            steps = cfg.metrics.extractor_steps or default_extractor_steps(len(splits.train_images))
            row |= classification_accuracy_score(
                module.sample, module.latent_dim, module.num_classes, splits, steps, cfg.cas
            )
    if scales:
        row |= scale_sweep(quality, module, scales, out_dir / f"{slug(ckpt)}_latent_scales.png")
    return row


def scale_sweep(
    quality: SampleQuality, module: DCGANModule, scales: list[float], path: Path
) -> dict[str, Any]:
    """The latent-scale sweep and its plot. Batch statistics would normalise the scale away
    at the first BatchNorm (every point alike), so a generator that samples with them is
    swept with standing statistics instead, and the JSON says so."""
    trained = module.hparams["bn_sampling"]
    bn = "standing" if trained == "batch" else trained
    points = latent_scale_sweep(
        quality, partial(module.sample, bn=bn), module.latent_dim, module.num_classes, scales
    )
    name = path.stem.removesuffix("_latent_scales")
    plot = plot_latent_scales(points, f"{name} (BatchNorm {bn} statistics)", path)
    return {"latent_scales": points, "latent_scales_bn_sampling": bn,
            "latent_scales_plot": str(plot)}  # fmt: skip


def evaluate_samples(cfg: DictConfig, cache: dict[str, Scorer], out_dir: Path) -> dict[str, Any]:
    """Scores of images from any generator (``samples=``) against ``data=``'s held-out set."""
    if cfg.get("data") is None:
        raise UserError(
            "samples= needs the dataset to score against: add data=mnist5k (or another)"
        )
    data: ImageDataModule = hydra.utils.instantiate(cfg.data)
    path = Path(cfg.samples)
    data.loaded()  # fills channels and image_size from the data where the config left them
    assert data.channels is not None and data.image_size is not None
    images = read_images(path, data.channels, data.image_size)
    quality, info, floor = scorer_for(data, cfg.metrics, cache)
    for chunk in tqdm(images.split(500), desc="scoring", unit="batch", disable=None):
        quality.add_fake(chunk)
    scores = quality.compute()
    sampler = {"generator": "samples file", "bn_sampling": None, "truncation": None}
    row = table_row(path, data, sampler, scores, (quality, info, floor), cfg.metrics)
    return row | pictures(quality, data, out_dir / slug(path), cfg.copies)


def evaluate_generator_file(
    cfg: DictConfig, cache: dict[str, Scorer], out_dir: Path
) -> dict[str, Any]:
    """Scores of an exported generator (``generator=FILE.onnx|.pt``, from dcgan-export)
    against ``data=``'s held-out set, drawn as a checkpoint is (the same noise, an equal
    share of each class)."""
    if cfg.get("data") is None:
        raise UserError(
            f"generator={cfg.generator} needs the dataset to score against: add data=mnist5k "
            "(or another)"
        )
    data: ImageDataModule = hydra.utils.instantiate(cfg.data)
    path = Path(cfg.generator)
    sample, metadata = load_generator_file(path)
    data.loaded()
    shape = [data.channels, data.image_size, data.image_size]
    if list(metadata["image_shape"]) != shape:
        raise UserError(
            f"generator={path} draws {metadata['image_shape']} images but {data.name} has "
            f"{shape}: score it against the data it was trained on"
        )
    quality, info, floor = scorer_for(data, cfg.metrics, cache)
    scores = score_draws(quality, sample, metadata["latent_dim"], torch.device("cpu"),
                         metadata["num_classes"], cfg.draws)  # fmt: skip
    sampler = {"generator": f"file ({metadata['generator']})",
               "bn_sampling": metadata["bn_sampling"], "truncation": None}  # fmt: skip
    row = table_row(path, data, sampler, scores, (quality, info, floor), cfg.metrics, cfg.draws)
    return row | pictures(quality, data, out_dir / slug(path), cfg.copies)


def pictures(
    quality: SampleQuality, data: ImageDataModule, stem: Path, copies: int
) -> dict[str, Any]:
    """The class histogram of the last scoring (and its bar chart), and its copies picture
    (``copies`` rows)."""
    histogram = quality.details.get("class_histogram")
    found: dict[str, Any] = {"class_histogram": histogram, "classes_png": None}
    if histogram is not None:
        chart = stem.with_name(f"{stem.name}_classes.png")
        found["classes_png"] = str(
            plot_class_histogram(histogram, quality.real_labels, stem.name, chart)
        )
    train = to_signed_unit(data.loaded().train_images)
    path = save_copies(quality, train, stem.with_name(f"{stem.name}_copies.png"), copies)
    return found | {"copies_png": str(path) if path else None}


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows' main scores; over several draws each as mean±sd."""
    header = ["checkpoint", *COLUMNS]
    cells = [header] + [[row["checkpoint"]] + [cell(row, col) for col in COLUMNS] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def cell(row: dict[str, Any], column: str) -> str:
    spread = row.get(f"{column}_sd")
    return fmt(row.get(column)) + (f"±{spread:.2g}" if spread is not None else "")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@hydra.main(config_path=config_dir(), config_name="eval", version_base="1.3")
@exit_on_user_error("dcgan-eval", discard_output=True)
def hydra_main(cfg: DictConfig) -> list[dict[str, Any]]:
    """The scored rows (the Python API returns them)."""
    out = Path(cfg.out)
    require_writable("out", out, folder=False)  # before any work
    cache: dict[str, Scorer] = {}
    if isinstance(cfg.copies, bool) or not isinstance(cfg.copies, int) or not 0 <= cfg.copies <= 64:
        raise UserError(f"copies={cfg.copies!r}: rows of the copies picture, 0..64 (0: none)")
    scales = check_scales(cfg.latent_scales)
    cas = cfg.get("cas")
    if isinstance(cas, bool) or not isinstance(cas, int) or (cas != 0 and cas < 10):
        raise UserError(
            f"cas={cas!r}: generated images for the Classification Accuracy Score, at least 10 "
            "(e.g. cas=5000), or 0 to skip it"
        )
    if require_draws(cfg.draws) > 1 and cfg.get("samples") is not None:
        raise UserError(
            f"draws={cfg.draws} redraws a generator's noise; a samples file is one fixed draw: "
            "drop draws, or score a checkpoint (ckpt_path=) or an exported generator"
        )
    if require_truncation(cfg.truncation) is not None and cfg.get("samples") is not None:
        raise UserError(
            f"truncation={cfg.truncation} applies to checkpoints' noise; a samples file is "
            "already drawn: drop truncation, or truncate when sampling (dcgan-sample truncation=)"
        )
    from_file = str(cfg.generator).endswith(GENERATOR_FILES)
    sources = [cfg.ckpt_path is not None, cfg.get("samples") is not None, from_file]
    if sum(sources) != 1:
        raise UserError(
            "give ckpt_path=<run dir or .ckpt> to score checkpoints, samples=<file.npz or "
            "folder of PNGs> data=<dataset> to score images from any generator, or "
            "generator=<file.onnx or .pt> data=<dataset> (from dcgan-export): one of them"
        )
    if from_file:
        rows = [evaluate_generator_file(cfg, cache, out.parent)]
    elif cfg.get("samples") is not None:
        rows = [evaluate_samples(cfg, cache, out.parent)]
    else:
        checkpoints = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint)
        rows = [evaluate(ckpt, cfg, cache, out.parent, scales) for ckpt in checkpoints]
    print(format_table(rows))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")
    return rows


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-eval")


if __name__ == "__main__":
    main()
