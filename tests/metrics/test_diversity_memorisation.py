"""Precision/recall/density/coverage, class coverage, memorisation and FID-infinity: pinned
on real digits' features where the answer is known."""

from __future__ import annotations

import math

import pytest
import torch

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.metrics.classifier import FrozenView
from dcgan_lab.metrics.frechet import fid_infinity, frechet_distance
from dcgan_lab.metrics.manifold import kth_neighbour_radii, precision_recall_density_coverage
from dcgan_lab.metrics.modes import class_coverage
from tests.metrics.test_quality import quality_for, scores_of


@pytest.fixture(scope="module")
def digit_features(mnist5k) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (4500, 128) and labels (4500,) of the mnist5k training digits."""
    data, classifier, _, _ = mnist5k
    splits = data.loaded()
    view = FrozenView(classifier, "features")
    images = to_signed_unit(splits.train_images)
    return torch.cat([view(x) for x in images.split(500)]), splits.train_labels


def naive_prdc(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """The definitions written out on the full distance matrices (no blocks)."""
    rr, ff, rf = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(real, fake)
    r3 = rr.sort(1).values[:, 3]  # k-th neighbour: index k, index 0 is the point itself
    f3 = ff.sort(1).values[:, 3]
    r5 = rr.sort(1).values[:, 5]
    return {
        "precision": (rf <= r3[:, None]).any(0).double().mean().item(),
        "recall": (rf <= f3[None, :]).any(1).double().mean().item(),
        "density": ((rf <= r5[:, None]).sum(0).double() / 5).mean().item(),
        "coverage": (rf.min(1).values <= r5).double().mean().item(),
    }


def test_blocked_scores_equal_the_definitions_on_the_full_matrices() -> None:
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=generator, dtype=torch.float64)
    fake = 1.3 * torch.randn(250, 8, generator=generator, dtype=torch.float64) + 0.2
    blocked = precision_recall_density_coverage(real, fake, block=7)  # 7: blocks of odd sizes
    assert blocked == pytest.approx(naive_prdc(real, fake), abs=1e-12)
    assert 0 < blocked["precision"] < 1 and 0 < blocked["recall"] < 1


def test_radii_need_more_points_than_k() -> None:
    with pytest.raises(ValueError, match="3 points have no 3-th nearest neighbour"):
        kth_neighbour_radii(torch.zeros(3, 2), 3)


def test_dropping_a_class_lowers_recall_and_coverage_but_not_precision(digit_features) -> None:
    features, labels = digit_features
    real, fake_pool, fake_labels = features[:2000], features[2000:], labels[2000:]
    complete = precision_recall_density_coverage(real, fake_pool[:2000])
    without_three = fake_pool[fake_labels != 3][:2000]  # same size, digit 3 missing
    dropped = precision_recall_density_coverage(real, without_three)
    assert complete["recall"] - dropped["recall"] >= 0.08
    assert complete["coverage"] - dropped["coverage"] >= 0.08
    assert abs(complete["precision"] - dropped["precision"]) <= 0.02
    assert complete["precision"] > 0.9 and 0.8 < complete["density"] < 1.2  # alike sets


def test_one_image_repeated_covers_almost_nothing(digit_features) -> None:
    features, _ = digit_features
    copies = features[2500:2501].repeat(1000, 1)
    scores = precision_recall_density_coverage(features[:2000], copies)
    assert scores["coverage"] <= 0.1 and scores["recall"] <= 0.01


def test_class_coverage_histogram_entropy_and_confidence() -> None:
    confident_threes = torch.full((100, 10), -10.0)
    confident_threes[:, 3] = 10.0
    one_class = class_coverage(confident_threes)
    histogram = one_class["class_histogram"]
    assert isinstance(histogram, list) and histogram[3] == 1.0 and one_class["class_entropy"] == 0.0
    assert one_class["recognisable"] == 1.0
    assert (one_class["class_share_min"], one_class["class_share_max"]) == (0.0, 1.0)
    uniform = class_coverage(torch.eye(10).repeat(10, 1) * 1.0)  # each class once, p_top 0.23
    assert uniform["class_entropy"] == pytest.approx(1.0)
    assert uniform["recognisable"] == 0.0
    assert uniform["class_share_min"] == uniform["class_share_max"] == pytest.approx(0.1)


def test_held_out_digits_are_recognisable_and_spread_over_classes(mnist5k) -> None:
    quality = quality_for(mnist5k, n_fake=500)
    splits = mnist5k[0].loaded()
    scores = scores_of(quality, to_signed_unit(splits.train_images[:500]))
    assert scores["recognisable"] >= 0.9 and scores["class_entropy"] >= 0.97
    histogram = quality.details["class_histogram"]
    assert len(histogram) == 10 and sum(histogram) == pytest.approx(1.0)


def test_copy_rate_is_one_for_training_images_and_the_quantile_for_new_ones(mnist5k) -> None:
    # The first 250 held-out digits are the real set and the yardstick; the other 250 were
    # never trained on, like a generator that makes new digits.
    quality = quality_for(mnist5k, n_fake=250, n_real=250)
    splits = mnist5k[0].loaded()
    copies = scores_of(quality, to_signed_unit(splits.train_images[1000:1250]))
    assert copies["copy_rate"] == 1.0 and copies["copy_rate_pixels"] == 1.0
    assert copies["memorisation_ratio"] < 0.01 and copies["memorisation_ratio_pixels"] < 0.01
    nearest = quality.details["nearest"]["pixels"]["train_index"]
    assert torch.equal(nearest, torch.arange(1000, 1250))  # each found its own original
    new = scores_of(quality, to_signed_unit(splits.val_images[250:500]))
    for suffix in ("", "_pixels"):
        assert 0.0 < new[f"copy_rate{suffix}"] <= 0.12  # expected share: 0.05
        assert 0.8 < new[f"memorisation_ratio{suffix}"] < 1.25


def test_the_same_images_give_identical_scores(mnist5k) -> None:
    quality = quality_for(mnist5k, n_fake=300)
    images = to_signed_unit(mnist5k[0].loaded().train_images[:300]) * 0.8
    first, second = scores_of(quality, images), scores_of(quality, images)
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert value == second[key] or (math.isnan(value) and math.isnan(second[key])), key


def test_fid_infinity_removes_the_small_sample_bias() -> None:
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(20_000, 32, generator=generator)
    fake = torch.randn(1000, 32, generator=generator)  # the same distribution: true FID 0
    at_n = frechet_distance(fake, real)
    extrapolated = fid_infinity(fake, real)
    assert at_n > 0.1 and abs(extrapolated) < 0.3 * at_n
