"""The FID feature extractor: a classifier for labelled data, an autoencoder for unlabelled,
cached by the data's content."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.splits import UNLABELLED, ImageSplits
from dcgan_lab.metrics.autoencoder import FeatureAutoencoder
from dcgan_lab.metrics.build import build_sample_quality
from dcgan_lab.metrics.extractor import load_or_train


def unlabelled(splits: ImageSplits, n_train: int = 1500, n_val: int = 300) -> ImageSplits:
    return ImageSplits(
        splits.train_images[:n_train], torch.full((n_train,), UNLABELLED),
        splits.val_images[:n_val], torch.full((n_val,), UNLABELLED),
    )  # fmt: skip


@pytest.mark.slow  # a minute or more on 2 cores: nox -s slow
def test_unlabelled_data_get_an_autoencoder_that_separates_real_from_noise(
    mnist5k, tmp_path: Path
) -> None:
    data, *_ = mnist5k
    digits = unlabelled(data.loaded())
    extractor, info = load_or_train("digits", digits, tmp_path, steps=150)
    assert isinstance(extractor, FeatureAutoencoder) and info.kind == "autoencoder"
    assert info.accuracy is None and info.reconstruction_rmse is not None
    assert info.reconstruction_rmse < 0.5  # pixels in [-1, 1]: well below a blank guess
    assert info.id.startswith("autoencoder-digits-")

    class Digits:
        name = "digits"

        def loaded(self) -> ImageSplits:
            return digits

    quality, built = build_sample_quality(Digits(), cache_dir=str(tmp_path), n_fake=300,  # type: ignore[arg-type]
                                          extractor_steps=150)  # fmt: skip
    assert built is not None and built.id == info.id  # read from the cache, same space
    for chunk in to_signed_unit(digits.train_images[:300]).split(100):
        quality.add_fake(chunk)
    real_scores = quality.compute()
    quality.add_fake(torch.rand(300, 1, 28, 28) * 2 - 1)
    noise_scores = quality.compute()
    assert real_scores["fid"] * 5 < noise_scores["fid"]
    assert real_scores["is"] != real_scores["is"]  # NaN: no class logits, no Inception Score


def test_different_data_of_equal_size_never_share_an_extractor(mnist5k, tmp_path: Path) -> None:
    data, *_ = mnist5k
    first = unlabelled(data.loaded())
    flipped = ImageSplits(first.train_images.flip(-1), first.train_labels,
                          first.val_images, first.val_labels)  # fmt: skip
    _, a = load_or_train("digits", first, tmp_path, steps=5)
    _, b = load_or_train("digits", flipped, tmp_path, steps=5)
    assert a.id != b.id and a.n_train == b.n_train
    assert len(list(tmp_path.glob("autoencoder-digits-*.pt"))) == 2


@pytest.mark.parametrize("labelled", [True, False])
def test_an_extractor_trained_on_first_use_leaves_the_runs_draws_alone(
    mnist5k, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, labelled: bool
) -> None:
    """A run trains the extractor after seeding itself: with or without the cache, the same
    seed must give the same training draws afterwards (on the CPU and on any GPU)."""
    data, *_ = mnist5k
    splits = data.loaded() if labelled else unlabelled(data.loaded())
    torch.manual_seed(3)
    expected = torch.rand(5)
    reseeded: list[int] = []  # seeds given to the GPUs' generators
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    monkeypatch.setattr(torch.cuda, "manual_seed", reseeded.append)
    for _ in ("trained", "from the cache"):
        torch.default_generator.manual_seed(3)
        load_or_train("digits", splits, tmp_path, steps=5)
        assert torch.equal(torch.rand(5), expected)
    assert reseeded == []
