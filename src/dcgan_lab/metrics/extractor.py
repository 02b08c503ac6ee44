"""Training the FID feature extractor once per dataset, and its cache on disk.

Labelled data get a classifier, unlabelled data an autoencoder; both are keyed by a hash of
the data, so two different datasets of the same name and size never share one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import UserError
from dcgan_lab.metrics.autoencoder import FeatureAutoencoder
from dcgan_lab.metrics.classifier import DomainClassifier
from dcgan_lab.metrics.random_stream import own_cpu_stream
from dcgan_lab.runs.atomic import atomic_write, atomic_write_text

# Bump when an extractor or its training changes: old cache entries are then ignored.
EXTRACTOR_VERSION = 2

Extractor = DomainClassifier | FeatureAutoencoder


@dataclass(frozen=True)
class ExtractorInfo:
    """What the cache stores beside the weights (as JSON)."""

    kind: str  # classifier (labelled data) or autoencoder (unlabelled)
    dataset: str
    version: int
    content: str  # hash of the data it was trained on: the cache key
    n_train: int
    steps: int
    accuracy: float | None = None  # classifier: on the dataset's held-out split
    reconstruction_rmse: float | None = None  # autoencoder: held out, on [-1, 1] pixels

    @property
    def id(self) -> str:
        """Names the extractor in scores: same id, same feature space."""
        return f"{self.kind}-{self.dataset}-{self.content}-v{self.version}"

    def describe(self) -> str:
        if self.accuracy is not None:
            return f"{self.kind}, held-out accuracy {self.accuracy:.4f}"
        return f"{self.kind}, held-out reconstruction RMSE {self.reconstruction_rmse:.4f}"


def content_hash(splits: ImageSplits) -> str:
    """Hash of both splits' images and labels: different data never share an extractor."""
    return splits.digest


def cache_stem(cache_dir: Path, info: ExtractorInfo) -> Path:
    return Path(cache_dir).expanduser() / info.id


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


def training_batches(
    splits: ImageSplits, steps: int, seed: int, batch_size: int, progress: bool, what: str
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` augmented batches (images (B, C, H, W) in [-1, 1], labels (B,)) with a bar."""
    generator = torch.Generator().manual_seed(seed)
    n = len(splits.train_images)
    for _ in tqdm(range(steps), desc=f"training the {what}", disable=None if progress else True):
        index = torch.randint(n, (batch_size,), generator=generator)
        images = random_affine(to_signed_unit(splits.train_images[index]), generator)
        yield images, splits.train_labels[index]


def fit(
    net: Extractor,
    loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    steps: int,
) -> None:
    """AdamW with a one-cycle schedule over ``steps`` batches."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    net.train()
    for images, labels in batches:
        loss = loss_of(images, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    net.eval()


def train_classifier(
    splits: ImageSplits,
    steps: int,
    seed: int = 0,
    batch_size: int = 128,
    progress: bool = True,
    what: str = "feature extractor",
) -> tuple[DomainClassifier, float]:
    """Train on the training split with light augmentation; return it and held-out accuracy.
    ``what``: the classifier's name on the progress bar."""
    with own_cpu_stream(seed):  # trained on first use mid-run: the run's draws stay its own
        _, channels, side, _ = splits.train_images.shape
        classifier = DomainClassifier(channels, side, splits.num_classes)
        batches = training_batches(splits, steps, seed, batch_size, progress, what)
        fit(classifier, lambda x, y: F.cross_entropy(classifier(x), y), batches, steps)
    return classifier, accuracy(classifier, splits.val_images, splits.val_labels)


def train_autoencoder(
    splits: ImageSplits, steps: int, seed: int = 0, batch_size: int = 128, progress: bool = True
) -> tuple[FeatureAutoencoder, float]:
    """Train to reconstruct the training split; return it and the held-out RMSE."""
    with own_cpu_stream(seed):
        _, channels, side, _ = splits.train_images.shape
        autoencoder = FeatureAutoencoder(channels, side)
        batches = training_batches(splits, steps, seed, batch_size, progress, "feature autoencoder")
        fit(autoencoder, lambda x, _: F.mse_loss(autoencoder(x), x), batches, steps)
    with torch.no_grad():
        errors = [
            F.mse_loss(autoencoder(x), x, reduction="sum")
            for x in map(to_signed_unit, splits.val_images.split(512))
        ]
    return autoencoder, math.sqrt(float(sum(errors)) / splits.val_images.numel())


def build_extractor(kind: str, splits: ImageSplits) -> Extractor:
    """An untrained extractor of ``kind`` shaped for ``splits``' images (to load weights into)."""
    _, channels, side, _ = splits.train_images.shape
    if kind == "classifier":
        return DomainClassifier(channels, side, splits.num_classes)
    return FeatureAutoencoder(channels, side)


def load_or_train(
    dataset: str, splits: ImageSplits, cache_dir: str | Path, steps: int, retrain: bool = False
) -> tuple[Extractor, ExtractorInfo]:
    """The dataset's extractor from the cache, trained first if absent (or ``retrain``):
    a classifier for labelled data, an autoencoder for unlabelled."""
    kind = "classifier" if splits.num_classes else "autoencoder"
    key = ExtractorInfo(kind, dataset, EXTRACTOR_VERSION, content_hash(splits), 0, 0)
    stem = cache_stem(Path(cache_dir), key)
    weights, meta = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if weights.is_file() and meta.is_file() and not retrain:
        try:
            info = ExtractorInfo(**json.loads(meta.read_text()))
            with own_cpu_stream(0):  # its random initial weights: drawn aside, then replaced
                cached = build_extractor(kind, splits)
            cached.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            return cached.eval(), info
        except Exception as err:  # a damaged cache entry is rebuilt, not fatal
            print(
                f"feature extractor cache {weights} unreadable ({type(err).__name__}); retraining"
            )
    extractor: Extractor
    accuracy = rmse = None
    if kind == "classifier":
        extractor, accuracy = train_classifier(splits, steps)
    else:
        extractor, rmse = train_autoencoder(splits, steps)
    info = replace(key, n_train=len(splits.train_images), steps=steps, accuracy=accuracy,
                   reconstruction_rmse=rmse)  # fmt: skip
    try:
        atomic_write(weights, lambda f: torch.save(extractor.state_dict(), f))
        atomic_write_text(meta, json.dumps(asdict(info), indent=2))
    except OSError as err:
        raise UserError(
            f"cannot write the feature extractor cache in {weights.parent} ({err.strerror}); "
            "set metrics.cache_dir to a writable folder"
        ) from None
    print(f"feature extractor for {dataset}: {info.describe()}, cached in {weights}")
    return extractor, info
