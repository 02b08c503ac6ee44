"""Sampling: BatchNorm modes, an image independent of its batch-mates, grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dcgan_lab.cli import sample
from dcgan_lab.errors import UserError
from dcgan_lab.images import make_grid, to_uint8
from dcgan_lab.models import KerasGenerator, sampling
from dcgan_lab.models.label_norm import LabelAffine
from dcgan_lab.models.sampling import balanced_chunks, batch_statistics, generate, truncated
from dcgan_lab.runs.checkpoints import STANDING_KEY, upgrade_checkpoint
from dcgan_lab.training.loading import load_module
from tests.conftest import keras_module


def test_generate_uses_batch_statistics_and_leaves_the_model_unchanged() -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=8, width=4)
    g.eval()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    noise = torch.randn(10, 8)
    images = generate(g, noise, bn="batch", batch_size=10)
    assert images.shape == (10, 1, 28, 28)
    assert not g.training
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    # Batch statistics differ from fresh running statistics (mean 0, var 1).
    with torch.no_grad():
        assert not torch.allclose(images, g(noise))
        with batch_statistics(g):
            assert torch.allclose(images, g(noise))


def test_to_uint8_maps_the_tanh_range_onto_0_255() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0, 5.0, -5.0])
    assert to_uint8(x).tolist() == [0, 128, 255, 255, 0]


def test_make_grid_places_tiles_row_major_with_padding() -> None:
    images = torch.stack([torch.full((1, 2, 2), i * 50, dtype=torch.uint8) for i in range(5)])
    grid = make_grid(images, nrow=3, pad=1)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == 50 and grid[4, 1, 0] == 150
    assert np.all(grid[4:6, 7:9] == 0)  # sixth cell empty


def image_zero(module, n: int, tmp_path, label=None) -> np.ndarray:
    """dcgan-sample's first image (H, W) of n drawn with seed 3."""
    npz, _ = sample.write_samples(module, n, 3, tmp_path / f"n{n}", label)
    with np.load(npz) as saved:
        return saved["images"][0].astype(int)


@pytest.mark.parametrize(
    ("num_classes", "label", "label_norm"),
    [(0, None, False), (10, 3, False), (10, "all", False), (10, "all", True)],
)
def test_an_image_does_not_depend_on_what_is_drawn_with_it(
    tmp_path, num_classes, label, label_norm
) -> None:
    module = keras_module(width=4, latent_dim=8, num_classes=num_classes, label_norm=label_norm)
    module.eval()
    torch.manual_seed(1)
    with torch.no_grad():  # per-class scales and shifts that differ from class to class
        for m in module.generator.modules():
            if isinstance(m, LabelAffine):
                m.gain.weight.normal_(0.0, 0.5)
                m.shift.weight.normal_(0.0, 0.5)
    with torch.no_grad():  # BatchNorm running statistics unlike any batch's: they must not matter
        for m in module.generator.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                assert m.running_mean is not None
                m.running_mean.add_(2.0)
    first = [image_zero(module, n, tmp_path, label) for n in (1, 2, 257, 5000)]
    assert first[0].std() > 0
    for other in first[1:]:
        assert np.abs(other - first[0]).max() <= 1  # uint8 rounding of float noise
    # the same noise gives the same image at any chunking, order and company
    noise = torch.randn(300, 8)
    labels = torch.randint(10, (300,)) if num_classes else None
    together = generate(module.generator, noise, labels)
    flip = torch.arange(299, -1, -1)
    reversed_ = generate(module.generator, noise[flip], None if labels is None else labels[flip])
    alone = generate(module.generator, noise[:1], None if labels is None else labels[:1])
    assert torch.allclose(reversed_[flip], together, atol=1e-5)
    assert torch.allclose(alone, together[:1], atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 257, 1025])
def test_no_sample_count_gives_a_traceback(tmp_path, monkeypatch, n: int) -> None:
    """Default mode draws any n; batch statistics draw any n > 1 with no chunk of one
    image (1025 at 1024 a chunk: 513 + 512), and n=1 is refused in one line."""
    monkeypatch.setattr(sample, "CHUNK", 256)
    module = keras_module(width=4, latent_dim=8).eval()
    npz, _ = sample.write_samples(module, n, 0, tmp_path / "standing")
    assert np.load(npz)["images"].shape == (n, 28, 28)
    module.hparams["bn_sampling"] = "batch"
    if n == 1:
        with pytest.raises(UserError, match="one image has none: draw at least 2"):
            sample.write_samples(module, n, 0, tmp_path / "batch")
        return
    npz, _ = sample.write_samples(module, n, 0, tmp_path / "batch")
    assert np.load(npz)["images"].shape == (n, 28, 28)


def test_balanced_chunks_never_leave_a_lone_image() -> None:
    assert balanced_chunks(257, 256) == [129, 128]
    assert balanced_chunks(1025, 1024) == [513, 512]
    assert balanced_chunks(512, 256) == [256, 256]
    for n in range(2, 600):
        sizes = balanced_chunks(n, 256)
        assert sum(sizes) == n and min(sizes) >= 2 and max(sizes) <= 256


def test_standing_statistics_are_measured_once_per_set_of_weights(monkeypatch) -> None:
    calls: list[int] = []
    measure = sampling.measure_standing

    def counted(*args):
        calls.append(1)
        return measure(*args)

    monkeypatch.setattr(sampling, "measure_standing", counted)
    g = KerasGenerator(latent_dim=8, width=4)
    noise = torch.randn(4, 8)
    first = generate(g, noise)
    assert torch.equal(generate(g, noise), first) and len(calls) == 1
    with torch.no_grad():
        next(g.parameters()).mul_(1.5)  # an optimizer step: the weights changed
    assert not torch.allclose(generate(g, noise), first) and len(calls) == 2
    generate(g, noise, bn="running")
    generate(g, noise, bn="batch")
    assert len(calls) == 2


def test_checkpoints_carry_the_standing_statistics(tmp_path, monkeypatch) -> None:
    """A checkpoint samples as the run sampled, without measuring again; an older one
    (batch statistics by default then) samples on standing statistics."""
    module = keras_module(width=4, latent_dim=8, ema={"decay": 0.99})
    noise = torch.randn(6, 8)
    expected = module.sample(noise)
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    assert set(checkpoint[STANDING_KEY]) == {"generator", "generator_ema"}
    torch.save(checkpoint, tmp_path / "new.ckpt")
    monkeypatch.setattr(sampling, "measure_standing", None)  # measuring now would fail
    loaded = load_module(tmp_path / "new.ckpt")
    assert torch.allclose(loaded.sample(noise), expected, atol=1e-6)
    old = {k: v for k, v in checkpoint.items() if k != STANDING_KEY}
    old["hyper_parameters"] = {**old["hyper_parameters"], "bn_sampling": "batch"}
    assert upgrade_checkpoint(old)["hyper_parameters"]["bn_sampling"] == "standing"
    explicit = {**checkpoint, "hyper_parameters": {**checkpoint["hyper_parameters"]}}
    explicit["hyper_parameters"]["bn_sampling"] = "batch"  # asked for, since the change
    assert upgrade_checkpoint(explicit)["hyper_parameters"]["bn_sampling"] == "batch"


@pytest.mark.parametrize("threshold", [0.5, 0.7, 2.0])
def test_truncated_noise_is_the_truncated_normal_row_by_row(threshold: float) -> None:
    from scipy.stats import truncnorm

    z = torch.randn(100_000, 8, generator=torch.Generator().manual_seed(0))
    t = truncated(z, threshold)
    assert float(t.abs().max()) <= threshold
    exact = truncnorm(-threshold, threshold)
    assert float(t.std()) == pytest.approx(exact.std(), abs=3e-3)
    assert float(t.mean()) == pytest.approx(0.0, abs=3e-3)
    assert torch.equal(truncated(z[5:6], threshold), t[5:6])  # each row on its own
    assert torch.equal(t.sign(), z.sign())  # monotone: the order of values is kept


def test_a_wide_threshold_leaves_the_noise_as_it_is() -> None:
    z = torch.randn(1000, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(truncated(z, 12.0), z, atol=1e-5)
