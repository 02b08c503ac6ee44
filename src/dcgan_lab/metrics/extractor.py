"""Training the domain classifier once per dataset, and its cache on disk."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import UserError
from dcgan_lab.metrics.classifier import DomainClassifier

# Bump when the classifier or its training changes: old cache entries are then ignored.
EXTRACTOR_VERSION = 1


@dataclass(frozen=True)
class ExtractorInfo:
    """What the cache stores beside the weights (as JSON)."""

    dataset: str
    version: int
    accuracy: float  # on the dataset's held-out split
    n_train: int
    steps: int


def cache_stem(cache_dir: Path, dataset: str, n_train: int) -> Path:
    return Path(cache_dir).expanduser() / f"classifier-{dataset}-n{n_train}-v{EXTRACTOR_VERSION}"


def random_affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random rotation, scale and shift per image; (B, C, H, W) -> same shape."""
    b = images.shape[0]
    angle = (torch.rand(b, generator=generator) - 0.5) * (2 * math.pi * 10 / 360)  # +-10 deg
    scale = 1 + (torch.rand(b, generator=generator) - 0.5) * 0.2
    shift = (torch.rand(b, 2, generator=generator) - 0.5) * 0.2  # +-10% of the side
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="border", align_corners=False)


@torch.no_grad()
def accuracy(classifier: DomainClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    classifier.eval()
    correct = sum(
        int((classifier(to_signed_unit(x)).argmax(1) == y).sum())
        for x, y in zip(images.split(512), labels.split(512), strict=True)
    )
    return correct / len(labels)


def train_classifier(
    splits: ImageSplits, steps: int, seed: int = 0, batch_size: int = 128, progress: bool = True
) -> tuple[DomainClassifier, float]:
    """Train on the training split with light augmentation; return it and held-out accuracy."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_classes = int(max(splits.train_labels.max(), splits.val_labels.max())) + 1
    _, channels, side, _ = splits.train_images.shape
    classifier = DomainClassifier(channels, side, n_classes)
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    classifier.train()
    n = len(splits.train_images)
    for _ in tqdm(
        range(steps), desc="training the feature extractor", disable=None if progress else True
    ):
        index = torch.randint(n, (batch_size,), generator=generator)
        x = random_affine(to_signed_unit(splits.train_images[index]), generator)
        loss = F.cross_entropy(classifier(x), splits.train_labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return classifier.eval(), accuracy(classifier, splits.val_images, splits.val_labels)


def load_or_train(
    dataset: str, splits: ImageSplits, cache_dir: str | Path, steps: int, retrain: bool = False
) -> tuple[DomainClassifier, ExtractorInfo]:
    """The cached classifier for ``dataset``, trained first if absent (or ``retrain``)."""
    stem = cache_stem(Path(cache_dir), dataset, len(splits.train_images))
    weights, meta = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if weights.is_file() and meta.is_file() and not retrain:
        try:
            info = ExtractorInfo(**json.loads(meta.read_text()))
            state = torch.load(weights, map_location="cpu", weights_only=True)
            _, channels, side, _ = splits.train_images.shape
            classifier = DomainClassifier(channels, side, state["head.2.weight"].shape[0])
            classifier.load_state_dict(state)
            return classifier.eval(), info
        except Exception as err:  # a damaged cache entry is rebuilt, not fatal
            print(
                f"feature extractor cache {weights} unreadable ({type(err).__name__}); retraining"
            )
    classifier, acc = train_classifier(splits, steps)
    info = ExtractorInfo(dataset, EXTRACTOR_VERSION, acc, len(splits.train_images), steps)
    try:
        weights.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(weights, lambda path: torch.save(classifier.state_dict(), path))
        atomic_write(meta, lambda path: path.write_text(json.dumps(asdict(info), indent=2)))
    except OSError as err:
        raise UserError(
            f"cannot write the feature extractor cache in {weights.parent} ({err.strerror}); "
            "set metrics.cache_dir to a writable folder"
        ) from None
    print(f"feature extractor for {dataset}: held-out accuracy {acc:.4f}, cached in {weights}")
    return classifier, info


def atomic_write(path: Path, write: object) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))  # type: ignore[operator]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
