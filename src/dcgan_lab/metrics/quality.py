"""Scores of generated images against held-out real images, in one feature space.

FID, KID and IS come from torchmetrics; precision/recall/density/coverage, the class
coverage and the memorisation check from this package (``manifold``, ``modes``,
``memorisation``), on the same features.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from dcgan_lab.errors import UserError
from dcgan_lab.metrics.frechet import fid_infinity, frechet_distance
from dcgan_lab.metrics.generated_set import GeneratedSet
from dcgan_lab.metrics.manifold import MIN_POINTS, precision_recall_density_coverage
from dcgan_lab.metrics.memorisation import TrainingNeighbours, pixel_vectors
from dcgan_lab.metrics.modes import class_coverage
from dcgan_lab.metrics.random_stream import own_cpu_stream
from dcgan_lab.models.checks import require_int

# images (B, C, H, W) in [-1, 1] -> what the feature modules expect
Prepare = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class FeatureSpace:
    """The modules torchmetrics calls: ``features`` for FID/KID, ``logits`` for IS.

    Each is a module (a frozen classifier view) or an int (torchmetrics' InceptionV3 layer).
    """

    features: nn.Module | int
    logits: nn.Module | str | None  # None: no class logits (an autoencoder), so no IS
    prepare: Prepare
    normalize: bool  # torchmetrics' flag: float images in [0, 1] for its own InceptionV3


class SampleQuality:
    """Scores batches of generated images; the real statistics are computed once.

    Not an ``nn.Module`` on purpose: the extractor's weights stay out of GAN checkpoints.
    Under DDP each rank holds one contiguous shard of the real images and generates one
    shard of the fake batches; torchmetrics sums the states over ranks at ``compute``, so
    the scores are those of one process scoring the union (``shard``).
    """

    def __init__(
        self,
        space: FeatureSpace,
        n_fake: int = 1000,
        kid_subsets: int = 50,
        kid_subset_size: int = 500,
        seed: int = 1234,
        with_fid_infinity: bool = False,
    ) -> None:
        # The counts are checked once, by build_sample_quality, before the extractor trains.
        self.space = space
        self.n_fake = n_fake
        self.with_fid_infinity = with_fid_infinity
        self.kid_subset_size = kid_subset_size
        self.seed = seed
        kw: dict[str, Any] = {"reset_real_features": False, "normalize": space.normalize}
        with warnings.catch_warnings():  # KID/IS keep all features in memory: known, bounded
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.fid = FrechetInceptionDistance(feature=space.features, **kw)
            self.kid = KernelInceptionDistance(
                feature=space.features, subsets=kid_subsets, subset_size=kid_subset_size, **kw
            )
            self.inception = (
                InceptionScore(feature=space.logits, splits=1, normalize=space.normalize)
                if space.logits is not None
                else None
            )
        self.generated = GeneratedSet()
        self.real_images = torch.empty(0)
        self.real_labels: torch.Tensor | None = None  # (n_real,), for per-class scores
        self.real_features = torch.empty(0)  # (n_real, F): all ranks hold all of them
        # Nearest training images in feature and pixel space (set_train); None: not checked.
        self.neighbours: dict[str, TrainingNeighbours] | None = None
        # What the last compute() saw beyond its scalars: the class histogram, and per
        # generated image its pixels, nearest training image and ratio (for copies.png).
        self.details: dict[str, Any] = {}
        self.rank, self.world_size = 0, 1

    @property
    def metrics(self) -> list[Metric]:
        return [m for m in (self.fid, self.kid, self.inception, self.generated) if m is not None]

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared images (B, C, H, W) -> (B, F) in FID's feature space (its own module)."""
        x = (x * 255).byte() if self.space.normalize else x
        return self.fid.inception(x).reshape(len(x), -1)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared images -> class logits (B, C), or (B, 0) in a space without classes."""
        if self.inception is None:
            return x.new_zeros(len(x), 0)
        x = (x * 255).byte() if self.space.normalize else x
        return self.inception.inception(x).reshape(len(x), -1)

    @torch.no_grad()
    def _features_of(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, F) on the CPU."""
        device = self.fid.device
        return torch.cat(
            [
                self._features(self.space.prepare(x.to(device))).cpu()
                for x in images.split(batch_size)
            ]
        )

    def to(self, device: torch.device | str) -> SampleQuality:
        for metric in self.metrics:
            metric.to(device)
        return self

    @property
    def n_real(self) -> int:
        return len(self.real_images)

    def set_real(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 500
    ) -> None:
        """The real set (N, C, H, W) in [-1, 1] [and its labels (N,)]: this rank's shard
        enters the statistics."""
        self.real_images = images
        self.real_labels = labels
        for metric in (self.fid, self.kid):  # real states too (reset_real_features=False)
            metric.reset_real_features = True
            metric.reset()
            metric.reset_real_features = False
        shard = torch.tensor_split(images, self.world_size)[self.rank]
        device = self.fid.device
        for chunk in shard.split(batch_size):
            x = self.space.prepare(chunk.to(device))
            self.fid.update(x, real=True)
            self.kid.update(x, real=True)
        self.real_features = self._features_of(images, batch_size).double()

    def set_train(self, images: torch.Tensor) -> None:
        """The training images (N, C, H, W) in [-1, 1], for the memorisation check: their
        features and pixels, against the held-out real set as the yardstick (set_real first)."""
        if self.n_real == 0:
            raise RuntimeError("SampleQuality.set_train() needs set_real() first")
        self.neighbours = {
            "features": TrainingNeighbours.build(self._features_of(images), self.real_features),
            "pixels": TrainingNeighbours.build(
                pixel_vectors(images), pixel_vectors(self.real_images)
            ),
        }

    def shard(self, rank: int, world_size: int) -> None:
        """Score as rank ``rank`` of ``world_size`` processes (real statistics re-sharded)."""
        if (rank, world_size) != (self.rank, self.world_size):
            self.rank, self.world_size = rank, world_size
            self.set_real(self.real_images, self.real_labels)

    @torch.no_grad()
    def add_fake(self, images: torch.Tensor) -> None:
        x = self.space.prepare(images)
        self.fid.update(x, real=False)
        self.kid.update(x, real=False)
        if self.inception is not None:
            self.inception.update(x)
        self.generated.update(self._features(x), self._logits(x), pixel_vectors(images))

    def compute(self) -> dict[str, float]:
        """FID, KID mean/std and IS of the fake images added since the last compute."""
        # Under DDP the local count is one shard; score() made n_fake in all.
        n_fake = int(self.fid.fake_features_num_samples) if self.world_size == 1 else self.n_fake
        if self.n_real == 0 or n_fake < 2:
            raise RuntimeError("SampleQuality.compute() needs real and fake images first")
        # KID draws subsets without replacement: never larger than either set.
        self.kid.subset_size = min(self.kid_subset_size, self.n_real, n_fake)
        # KID and IS permute with the CPU's global generator (torch.randperm).
        with own_cpu_stream(self.seed):
            kid_mean, kid_std = self.kid.compute()
            is_mean = math.nan  # no class logits: no Inception Score
            if self.inception is not None:
                with warnings.catch_warnings():  # one split: IS's std is undefined and unused
                    warnings.simplefilter("ignore", UserWarning)
                    is_mean = float(self.inception.compute()[0])
            fid = self.fid.compute()
            extra = self.set_scores(*self.generated.compute())
        for metric in self.metrics:
            metric.reset()  # fake features only: reset_real_features=False
        return {
            "fid": float(fid),
            "kid_mean": float(kid_mean),  # unclamped: below 0 when the sets are alike
            "kid_std": float(kid_std),
            "is": float(is_mean),
            **extra,
            "n_fake": float(n_fake),
            "n_real": float(self.n_real),
        }

    def set_scores(
        self, features: torch.Tensor, logits: torch.Tensor, pixels: torch.Tensor
    ) -> dict[str, float]:
        """The scores of the whole generated set: features (M, F), logits (M, C), pixels (M, P)."""
        real = self.real_features
        scores = {
            "fid_half": frechet_distance(features[: len(features) // 2], real),
            **precision_recall_density_coverage(real, features),
        }
        if self.with_fid_infinity:
            scores["fid_infinity"] = fid_infinity(features, real, self.seed)
        nan = float("nan")
        scores |= {"class_entropy": nan, "recognisable": nan}
        scores |= {"class_share_min": nan, "class_share_max": nan}
        self.details = {"pixels": pixels}
        if logits.shape[1]:
            coverage = class_coverage(logits)
            self.details["class_histogram"] = coverage.pop("class_histogram")
            scores |= coverage  # type: ignore[arg-type]
        for space, vectors in (("features", features), ("pixels", pixels)):
            suffix = "" if space == "features" else "_pixels"
            summary = {"memorisation_ratio": nan, "copy_rate": nan}  # no training set given
            if self.neighbours is not None:
                ratio, index, summary = self.neighbours[space].scores(vectors)
                self.details.setdefault("nearest", {})[space] = {
                    "ratio": ratio,
                    "train_index": index,
                }
            scores |= {f"{name}{suffix}": value for name, value in summary.items()}
        return scores

    def score(
        self,
        generate: Callable[..., torch.Tensor],
        latent_dim: int,
        device: torch.device,
        num_classes: int = 0,
        batch_size: int = 500,
        seed: int | None = None,
    ) -> dict[str, float]:
        """Generate ``n_fake`` images from fixed noise (same every call) and score them.

        ``seed``: another fixed noise (``metrics/draws.py``); None: the protocol's ``self.seed``.

        ``generate(noise)``, or ``generate(noise, labels)`` with an equal share of each of
        ``num_classes`` classes. The noise is drawn in batches of ``batch_size`` (they matter
        only to a generator sampling on batch statistics); under DDP each rank generates its
        contiguous share.
        """
        noise, labels = fixed_inputs(
            self.n_fake, latent_dim, num_classes, self.seed if seed is None else seed
        )
        batch_size = min(batch_size, -(-self.n_fake // self.world_size))  # >= 1 batch a rank
        batches = noise.split(batch_size)
        if len(batches) % self.world_size:
            raise UserError(
                f"metrics.n_fake={self.n_fake} does not split evenly over {self.world_size} "
                f"processes; use a multiple of {self.world_size} batches of {batch_size}"
            )
        per_rank = len(batches) // self.world_size
        mine = slice(self.rank * per_rank, (self.rank + 1) * per_rank)
        label_batches = labels.split(batch_size) if labels is not None else [None] * len(batches)
        for z, y in zip(batches[mine], label_batches[mine], strict=True):
            images = generate(z.to(device)) if y is None else generate(z.to(device), y.to(device))
            self.add_fake(images)
        return self.compute()


def check_settings(
    n_fake: int, every_n_epochs: int, kid_subsets: int, kid_subset_size: int
) -> None:
    """The ``metrics.*`` counts, checked before anything (the extractor) is trained."""
    for key, value, minimum, example in (
        ("n_fake", n_fake, MIN_POINTS, 1000),
        ("every_n_epochs", every_n_epochs, 1, 1),
        ("kid_subsets", kid_subsets, 1, 50),
        ("kid_subset_size", kid_subset_size, 2, 500),
    ):
        require_int(f"metrics.{key}", value, minimum, example)


def fixed_inputs(
    n: int, latent_dim: int, num_classes: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The same noise (n, Z) every call, and (conditional) labels (n,) cycling 0..C-1, so
    each class gets an equal share (within one)."""
    noise = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % num_classes if num_classes else None
    return noise, labels
