"""Builds ``SampleQuality`` for a run from the ``metrics`` config and the loaded data."""

from __future__ import annotations

import math
from pathlib import Path

from dcgan_lab.data.datamodule import ImageDataModule, to_signed_unit
from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import UserError
from dcgan_lab.metrics.classifier import FrozenView
from dcgan_lab.metrics.extractor import Extractor, ExtractorInfo, load_or_train
from dcgan_lab.metrics.inception import inception_space
from dcgan_lab.metrics.manifold import MIN_POINTS
from dcgan_lab.metrics.quality import FeatureSpace, SampleQuality, check_settings
from dcgan_lab.models.checks import require_choice, require_flag

FEATURES = ("classifier", "inception")


def default_extractor_steps(n_train: int) -> int:
    """Training steps (batch 128) that reach the accuracy targets.

    mnist5k (4,500 images): 600 steps, 98.2% held out. Fashion-MNIST (60,000): 600 steps
    give 89.0%, 2,000 give 91.9%; full MNIST gets the same budget.
    """
    return 600 if n_train <= 10_000 else 2000


def extractor_for(
    data: ImageDataModule, cache_dir: str | Path, extractor_steps: int | None, retrain: bool = False
) -> tuple[Extractor, ExtractorInfo]:
    """The dataset's extractor from the cache, trained first if absent (or ``retrain``)."""
    splits = data.loaded()
    steps = extractor_steps or default_extractor_steps(len(splits.train_images))
    return load_or_train(data.name, splits, cache_dir, steps, retrain)


def classifier_space(
    data: ImageDataModule, cache_dir: str | Path, extractor_steps: int | None
) -> tuple[FeatureSpace, ExtractorInfo]:
    """The dataset's own extractor (trained and cached on first use) as the feature space:
    a classifier (features and logits) or, for unlabelled data, an autoencoder (no IS)."""
    extractor, info = extractor_for(data, cache_dir, extractor_steps)
    space = FeatureSpace(
        features=FrozenView(extractor, "features"),
        logits=FrozenView(extractor, "logits") if info.kind == "classifier" else None,
        prepare=lambda images: images,
        normalize=False,
    )
    return space, info


def more_held_out(splits: ImageSplits, n_real: int | None) -> str:
    """The override that gives the scores enough held-out images: ``metrics.n_real`` when
    it is what leaves too few, else a held-out fraction that rounds to enough."""
    if n_real is not None and len(splits.val_images) >= MIN_POINTS:
        return f"set metrics.n_real={MIN_POINTS} or more"
    total = len(splits.train_images) + len(splits.val_images)
    fraction = math.ceil(1000 * (MIN_POINTS - 0.5) / max(total, 1)) / 1000  # rounds to enough
    return f"add data.source.val_fraction={fraction:g}" if fraction < 1 else "add images"


def build_sample_quality(
    data: ImageDataModule,
    features: str = "classifier",
    cache_dir: str = "~/.cache/dcgan-lab",
    extractor_steps: int | None = None,
    n_fake: int = 1000,
    n_real: int | None = None,
    kid_subsets: int = 50,
    kid_subset_size: int = 500,
    every_n_epochs: int = 1,
    fid_infinity: bool = False,
) -> tuple[SampleQuality, ExtractorInfo | None]:
    """SampleQuality with the held-out split (first ``n_real`` images) as the real set and
    the training split as the memorisation check's reference."""
    require_choice("metrics.features", features, FEATURES)
    check_settings(n_fake, every_n_epochs, kid_subsets, kid_subset_size)
    require_flag("metrics.fid_infinity", fid_infinity)
    splits = data.loaded()
    held_out = len(splits.val_images[:n_real])
    if held_out < MIN_POINTS:  # nearest-neighbour scores; checked before any extractor trains
        raise UserError(f"the held-out split has {held_out} image{'s' * (held_out != 1)}: "
                        f"scores need at least {MIN_POINTS} ({more_held_out(splits, n_real)}), "
                        "or train without them: metrics=none")  # fmt: skip
    info = None
    if features == "classifier":
        space, info = classifier_space(data, cache_dir, extractor_steps)
    else:
        space = inception_space()
    quality = SampleQuality(space, n_fake, kid_subsets, kid_subset_size,
                            with_fid_infinity=fid_infinity)  # fmt: skip
    splits = data.loaded()
    labels = splits.val_labels[:n_real] if splits.num_classes else None
    quality.set_real(to_signed_unit(splits.val_images[:n_real]), labels)
    quality.set_train(to_signed_unit(splits.train_images))
    return quality, info
