"""FID/KID/IS in the classifier feature space: correctness against references and sanity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.errors import UserError
from dcgan_lab.metrics import inception
from dcgan_lab.metrics.build import build_sample_quality
from dcgan_lab.metrics.classifier import FrozenView
from dcgan_lab.metrics.extractor import load_or_train
from dcgan_lab.metrics.quality import SampleQuality
from tests.conftest import EXTRACTOR_STEPS as STEPS


def quality_for(mnist5k, n_fake: int = 500, **kwargs) -> SampleQuality:
    data, _, _, cache = mnist5k
    quality, _ = build_sample_quality(data, cache_dir=cache, extractor_steps=STEPS,
                                      n_fake=n_fake, **kwargs)  # fmt: skip
    return quality


def scores_of(quality: SampleQuality, images: torch.Tensor) -> dict[str, float]:
    for chunk in images.split(250):
        quality.add_fake(chunk)
    return quality.compute()


def real(mnist5k, split: str = "train", n: int = 500) -> torch.Tensor:
    splits = mnist5k[0].loaded()
    images = splits.train_images if split == "train" else splits.val_images
    return to_signed_unit(images[:n])


def test_extractor_is_accurate_cached_and_reloaded(mnist5k) -> None:
    data, classifier, info, cache = mnist5k
    assert info.accuracy >= 0.97
    again, info_again = load_or_train("mnist5k", data.loaded(), cache, STEPS)
    assert info_again == info
    pairs = zip(classifier.state_dict().values(), again.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_extractor_stays_frozen_in_eval_mode(mnist5k) -> None:
    view = FrozenView(mnist5k[1], "features")
    holder = torch.nn.ModuleDict({"view": view})
    holder.train()
    assert not view.training and not view.classifier.training
    assert not any(p.requires_grad for p in view.parameters())
    x = real(mnist5k, n=8)
    assert torch.equal(view(x), view(x))  # dropout and BN statistics inactive


def frechet_distance_numpy(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_fid_matches_an_independent_scipy_frechet_distance(mnist5k) -> None:
    quality = quality_for(mnist5k)
    fake = real(mnist5k, "train", 500) + 0.3 * torch.randn(500, 1, 28, 28)
    fid = scores_of(quality, fake)["fid"]
    view = FrozenView(mnist5k[1], "features")
    real_features = view(real(mnist5k, "val")).double().numpy()
    fake_features = view(fake).double().numpy()
    expected = frechet_distance_numpy(real_features, fake_features)
    assert fid == pytest.approx(expected, rel=1e-4)


def test_fid_separates_real_noise_and_collapse_and_tracks_noise_level(mnist5k) -> None:
    quality = quality_for(mnist5k)
    floor = scores_of(quality, real(mnist5k, "train", 500))["fid"]
    noise = scores_of(quality, torch.rand(500, 1, 28, 28) * 2 - 1)["fid"]
    one_digit = scores_of(quality, real(mnist5k, "train", 1).expand(500, -1, -1, -1))["fid"]
    assert noise > 20 * floor and one_digit > 5 * floor
    torch.manual_seed(0)
    clean = real(mnist5k, "train", 500)
    by_noise = [
        scores_of(quality, (clean + s * torch.randn_like(clean)).clamp(-1, 1))["fid"]
        for s in (1.0, 0.6, 0.3, 0.1)
    ]
    assert by_noise == sorted(by_noise, reverse=True)
    assert by_noise[-1] < by_noise[0] / 3


def test_kid_with_fewer_samples_than_the_subset_size_adapts(mnist5k) -> None:
    quality = quality_for(mnist5k, kid_subset_size=1000)
    scores = scores_of(quality, real(mnist5k, "train", 40))
    assert scores["n_fake"] == 40 and np.isfinite(scores["kid_mean"])
    assert quality.kid.subset_size == 40


def test_inception_score_counts_classes(mnist5k) -> None:
    quality = quality_for(mnist5k)
    assert scores_of(quality, real(mnist5k, "val", 500))["is"] > 8.5  # 10 balanced classes
    single = scores_of(quality, real(mnist5k, "val", 1).expand(200, -1, -1, -1))["is"]
    assert single == pytest.approx(1.0, abs=0.05)


def test_real_statistics_are_computed_once_and_kept(mnist5k) -> None:
    quality = quality_for(mnist5k, n_real=300)
    assert quality.n_real == 300
    first = scores_of(quality, real(mnist5k, "train", 200))
    second = scores_of(quality, real(mnist5k, "train", 200))
    assert first["fid"] == pytest.approx(second["fid"])
    assert int(quality.fid.real_features_num_samples) == 300


def test_scoring_leaves_the_training_random_streams_as_they_were(
    mnist5k, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KID and IS draw their subsets from a seeded generator, and training's draws go on
    as if no scoring had happened: the CPU's stream comes back, and no accelerator's
    generator is reseeded (its training noise and dropout masks would repeat every epoch)."""
    quality = quality_for(mnist5k, n_fake=64)
    torch.manual_seed(5)
    expected = (torch.rand(4), torch.rand(4))
    torch.manual_seed(5)
    first = torch.rand(4)
    reseeded: list[int] = []  # seeds given to the GPUs' generators from here on
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    monkeypatch.setattr(torch.cuda, "manual_seed", reseeded.append)
    kid = [scores_of(quality, real(mnist5k, "train", 64))["kid_mean"] for _ in range(2)]
    assert torch.equal(first, expected[0]) and torch.equal(torch.rand(4), expected[1])
    assert kid[0] == kid[1]  # the same subsets each time
    assert reseeded == []


def test_inception_option_fails_at_once_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(inception.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(inception.torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(inception, "WEIGHTS_HOST", ("127.0.0.1", 9))  # refused at once
    with pytest.raises(UserError, match="cannot be downloaded offline"):
        inception.inception_space()


def test_inception_option_without_torch_fidelity_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inception.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install torch-fidelity"):
        inception.inception_space()


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="needs Debian's dataset-fashion-mnist",
)
def test_fashion_mnist_extractor_reaches_90_percent(tmp_path: Path) -> None:
    from dcgan_lab.data.sources import IdxDataset
    from dcgan_lab.metrics.build import default_extractor_steps

    data = ImageDataModule(IdxDataset(root="/usr/share/datasets/fashion-mnist"), name="fashion")
    steps = default_extractor_steps(len(data.loaded().train_images))
    _, info = load_or_train("fashion", data.loaded(), tmp_path, steps)
    assert info.accuracy is not None and info.accuracy >= 0.90
