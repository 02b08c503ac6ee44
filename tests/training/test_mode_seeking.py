"""Mode seeking (Mao et al. 2019): the term against the paper's formula, the twin fakes G
draws for it, and that minimising it alone spreads G's images of one class apart."""

from __future__ import annotations

import pytest
import torch

from dcgan_lab.training.mode_seeking import EPS, ModeSeekingSettings, Twins, with_twins
from tests.conftest import keras_module


def test_the_term_is_the_weight_over_the_image_to_latent_distance_ratio() -> None:
    fake, twin = torch.zeros(4, 1, 28, 28), torch.full((4, 1, 28, 28), 0.5)
    twins = Twins(twin, latent_gap=torch.tensor(2.0))  # ratio: 0.5 / 2 = 0.25
    assert float(ModeSeekingSettings(3.0).penalty(fake, twins)) == pytest.approx(3.0 / (0.25 + EPS))


def test_fade_lowers_the_weight_linearly_to_zero_over_the_last_share_of_the_run() -> None:
    fading = ModeSeekingSettings(weight=0.2, fade=0.5)
    weights = [fading.weight_at(p) for p in (0.0, 0.5, 0.75, 1.0)]
    assert weights == pytest.approx([0.2, 0.2, 0.1, 0.0])
    assert ModeSeekingSettings(weight=0.2).weight_at(1.0) == 0.2  # fade 0: constant
    fake, twins = torch.zeros(2, 1, 4, 4), Twins(torch.ones(2, 1, 4, 4), torch.tensor(1.0))
    assert float(fading.penalty(fake, twins, progress=0.75)) == pytest.approx(0.1 / (1 + EPS))


def test_g_loss_adds_the_term_only_when_twins_are_given_and_the_weight_is_on() -> None:
    module = keras_module(width=4, latent_dim=8, mode_seeking={"weight": 2.0})
    module.eval()  # dropout off: the same logits in every computation
    fake = torch.randn(4, 1, 28, 28)
    twins = Twins(fake + 0.1, torch.tensor(0.5))
    with torch.no_grad():
        plain = module.objective.generator_loss(fake, None)
        seeking = module.objective.generator_loss(fake, None, twins=twins)
    assert float(seeking - plain) == pytest.approx(2.0 / (0.1 / 0.5 + EPS), rel=1e-4)


def test_twins_are_g_on_the_second_latents_with_the_same_labels() -> None:
    module = keras_module(width=4, latent_dim=8, num_classes=10)
    generator = module.generator.eval()  # running statistics: each image on its own
    z, twin_z = torch.randn(3, 8), torch.randn(3, 8)
    labels = torch.tensor([7, 1, 3])
    with torch.no_grad():
        fake, twins = with_twins(generator, z, labels, twin_z)
        assert torch.allclose(fake, generator(z, labels), atol=1e-6)
        assert torch.allclose(twins.images, generator(twin_z, labels), atol=1e-6)
    assert float(twins.latent_gap) == pytest.approx(float((z - twin_z).abs().mean()))


def test_minimising_the_term_alone_spreads_one_class_images_apart() -> None:
    """The behaviour the term is for: G's images of one label, for different latents, move
    apart when G follows the term's gradient (no D involved)."""
    torch.manual_seed(0)
    module = keras_module(width=8, latent_dim=8, num_classes=10)
    generator, settings = module.generator, ModeSeekingSettings(1.0)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3)
    labels = torch.full((16,), 7)

    def spread() -> float:  # mean |G(z1, 7) - G(z2, 7)| over fresh latents, eval mode
        with torch.no_grad():
            generator.eval()
            z, twin_z = torch.randn(64, 8), torch.randn(64, 8)
            fake, twins = with_twins(generator, z, labels.repeat(4), twin_z)
            generator.train()
        return float((fake - twins.images).abs().mean())

    before = spread()
    for _ in range(30):
        fake, twins = with_twins(generator, torch.randn(16, 8), labels, torch.randn(16, 8))
        optimizer.zero_grad()
        settings.penalty(fake, twins).backward()
        optimizer.step()
    assert spread() > 1.5 * before
