"""``dcgan-eval ckpt_path=...``: score checkpoints and print them against the real floor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from dcgan_lab.cli.common import config_dir, exit_on_user_error, run_with_clear_errors
from dcgan_lab.cli.sample import load_module
from dcgan_lab.data.datamodule import ImageDataModule, to_signed_unit
from dcgan_lab.errors import UserError
from dcgan_lab.metrics.conditional import conditional_scores
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.runs.checkpoints import find_checkpoints
from dcgan_lab.runs.run_dir import RunDir

COLUMNS = [
    "generator", "bn_sampling", "fid", "floor_fid", "kid_mean", "kid_std", "is",
    "label_accuracy", "intra_fid", "n_fake", "n_real", "floor_n", "extractor_acc",
]  # fmt: skip


def run_data(ckpt: Path) -> ImageDataModule:
    """The datamodule the checkpoint's run trained on (from its resolved config.yaml)."""
    run = RunDir.of_checkpoint(ckpt)
    config = run.config if run is not None else ckpt.parent / "config.yaml"
    if not config.is_file():
        raise UserError(f"{config} not found: dcgan-eval reads the run's data from it")
    return hydra.utils.instantiate(OmegaConf.load(config).data)


def real_floor(quality: SampleQuality, data: ImageDataModule) -> dict[str, float]:
    """FID of training images against the held-out set (disjoint real splits).

    Uses as many training images as images are scored (fewer if the split is smaller),
    so a score can be read against what two real samples of that size give.
    """
    train = data.loaded().train_images
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    for chunk in train[order[: quality.n_fake]].split(500):
        quality.add_fake(to_signed_unit(chunk))
    scores = quality.compute()
    return {"floor_fid": scores["fid"], "floor_n": scores["n_fake"]}


def evaluate(
    ckpt: Path,
    metrics_cfg: DictConfig,
    cache: dict[str, Any],
    bn_sampling: str | None = None,
    generator: str = "auto",
) -> dict[str, Any]:
    data = run_data(ckpt)
    key = repr(data.source)  # one scorer (extractor + real statistics) per dataset
    if key not in cache:
        quality, info = hydra.utils.instantiate(metrics_cfg)(data)
        cache[key] = (quality, info, real_floor(quality, data))
    quality, info, floor = cache[key]
    module = load_module(ckpt, bn_sampling, generator).eval()
    device = torch.device("cpu")
    scores = quality.score(module.sample, module.latent_dim, device, module.num_classes)
    if module.num_classes:
        scores |= conditional_scores(
            quality, module.sample, module.latent_dim, module.num_classes, device
        )
    sampler = {"generator": "ema" if module.use_ema else "raw",
               "bn_sampling": module.hparams["bn_sampling"]}  # fmt: skip
    extractor = {"extractor": info.id if info else metrics_cfg.features,
                 "extractor_acc": info.accuracy if info else None}  # fmt: skip
    return {"checkpoint": str(ckpt), "data": data.name, **sampler, **scores, **floor, **extractor}


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ["checkpoint", *COLUMNS]
    cells = [header] + [
        [row["checkpoint"]] + [fmt(row.get(col)) for col in COLUMNS] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@hydra.main(config_path=config_dir(), config_name="eval", version_base="1.3")
@exit_on_user_error("dcgan-eval")
def hydra_main(cfg: DictConfig) -> None:
    checkpoints = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint)
    cache: dict[str, Any] = {}
    rows = [
        evaluate(ckpt, cfg.metrics, cache, cfg.bn_sampling, cfg.generator) for ckpt in checkpoints
    ]
    print(format_table(rows))
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-eval")


if __name__ == "__main__":
    main()
