"""Label accuracy and intra-class FID of conditional generators."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.metrics.build import build_sample_quality
from dcgan_lab.metrics.classification_accuracy import (
    classification_accuracy_score,
    gan_train_accuracy,
)
from dcgan_lab.metrics.conditional import conditional_scores
from dcgan_lab.metrics.frechet import frechet_distance
from tests.conftest import EXTRACTOR_STEPS as STEPS

CAS_STEPS = 100  # each of the three classifiers: enough to tell right from wrong classes


def test_frechet_distance_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(0.5, 2.0, size=(150, 6))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(expected)


def class_sampler(images: torch.Tensor, labels: torch.Tensor, shift: int = 0):
    """A 'generator' that returns training digits of the requested class (+ shift)."""
    by_class = [images[labels == c] for c in range(10)]

    def sample(noise: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
        picks = [by_class[(int(c) + shift) % 10][i % 50] for i, c in enumerate(wanted)]
        return torch.stack(picks)

    return sample


def test_real_digits_of_the_asked_class_score_high_and_wrong_classes_low(mnist5k) -> None:
    data, _, info, cache = mnist5k
    quality, _ = build_sample_quality(data, cache_dir=cache, extractor_steps=STEPS, n_fake=500)
    splits = data.loaded()
    train = to_signed_unit(splits.train_images)
    right = conditional_scores(quality, class_sampler(train, splits.train_labels), 4, 10,
                               torch.device("cpu"))  # fmt: skip
    wrong = conditional_scores(quality, class_sampler(train, splits.train_labels, shift=1), 4, 10,
                               torch.device("cpu"))  # fmt: skip
    assert right["label_accuracy"] >= info.accuracy - 0.05
    assert wrong["label_accuracy"] <= 0.05
    assert right["intra_fid"] < 0.5 * wrong["intra_fid"]


@pytest.mark.slow  # a minute or more on 2 cores: nox -s slow
def test_cas_is_high_for_images_of_the_asked_class_and_near_zero_for_wrong_ones(mnist5k) -> None:
    # GAN-train: a classifier learns the classes from the 'generated' images alone. Digits of
    # the asked class teach it (nearly as well as as many real digits); digits of the next
    # class teach it to be wrong on every real digit.
    data, _, _, _ = mnist5k
    splits = data.loaded()
    train = to_signed_unit(splits.train_images)
    args = (4, 10, splits, CAS_STEPS, 1000)
    right = classification_accuracy_score(class_sampler(train, splits.train_labels), *args)
    wrong = gan_train_accuracy(class_sampler(train, splits.train_labels, shift=1), *args)
    assert right["cas_n"] == right["cas_n_real"] == 1000
    assert right["cas"] >= 0.75 and right["cas_real"] >= right["cas"] - 0.05
    assert wrong <= 0.05
