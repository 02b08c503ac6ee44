"""Mode seeking (Mao et al. 2019): the term against the paper's formula, the twin fakes G
draws for it, and that minimising it alone spreads G's images of one class apart."""

from __future__ import annotations

from typing import Any

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


def test_in_discriminator_space_the_term_compares_ds_feature_maps_relative_to_their_size() -> None:
    settings = ModeSeekingSettings(weight=3.0, space="discriminator")
    fake, twin = torch.full((2, 4, 3, 3), 1.0), torch.full((2, 4, 3, 3), 3.0)
    # |1 - 3| over the mean magnitude (1 + 3) / 2: relative distance 1, ratio 1 / 0.5 = 2
    penalty = settings.penalty(fake, Twins(twin, latent_gap=torch.tensor(0.5)))
    assert float(penalty) == pytest.approx(3.0 / (2.0 + EPS))
    scaled = settings.penalty(10 * fake, Twins(10 * twin, latent_gap=torch.tensor(0.5)))
    assert float(scaled) == pytest.approx(float(penalty))  # D's feature scale drops out


def test_g_loss_in_discriminator_space_reads_ds_features_of_both_fakes() -> None:
    module = keras_module(
        width=4, latent_dim=8, mode_seeking={"weight": 2.0, "space": "discriminator"}
    )
    module.eval()  # dropout off: the same features in every computation
    fake, twin = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        plain = module.objective.generator_loss(fake, None)
        seeking = module.objective.generator_loss(fake, None, twins=Twins(twin, torch.tensor(0.5)))
        a, b = module.discriminator.feature_map(fake), module.discriminator.feature_map(twin)
    relative = float((a - b).abs().mean() / ((a.abs().mean() + b.abs().mean()) / 2))
    assert float(seeking - plain) == pytest.approx(2.0 / (relative / 0.5 + EPS), rel=1e-4)


@pytest.mark.parametrize(
    ("options", "d_passes"),
    [({}, 1), ({"augment": ["translation"]}, 2), ({"minibatch_std": 2}, 2)],
)
def test_in_discriminator_space_one_d_pass_gives_the_fakes_logits_and_both_feature_maps(
    options: dict[str, Any], d_passes: int
) -> None:
    """A plain critic (no augmentation, each image on its own) scores the fakes from the
    pass that maps both halves: the loss and G's gradient of two passes, from one."""
    module = keras_module(
        width=4, latent_dim=8, num_classes=10, dropout=0.0,
        mode_seeking={"weight": 2.0, "space": "discriminator"}, **options,
    )  # fmt: skip
    d = module.discriminator.requires_grad_(False)
    passes: list[int] = []
    d.get_submodule("features").register_forward_hook(lambda *_: passes.append(1))
    fake = torch.randn(4, 1, 28, 28, requires_grad=True)
    twin, labels = torch.randn(4, 1, 28, 28), torch.tensor([7, 1, 3, 7])
    twins = Twins(twin, torch.tensor(0.5))
    loss = module.objective.generator_loss(fake, labels, twins=twins)
    assert len(passes) == d_passes
    if d_passes > 1:
        return  # augmented or grouped: the fakes' logits need their own pass
    (grad,) = torch.autograd.grad(loss, fake)
    separate = module.loss.generator(d(fake, labels)) + module.mode_seeking.penalty(
        d.feature_map(fake), Twins(d.feature_map(twin), twins.latent_gap)
    )
    (separate_grad,) = torch.autograd.grad(separate, fake)
    assert float(loss.detach()) == pytest.approx(float(separate.detach()), rel=1e-5)
    assert torch.allclose(grad, separate_grad, rtol=1e-4, atol=1e-7)


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


@pytest.mark.parametrize("space", ["pixels", "discriminator"])
def test_minimising_the_term_alone_spreads_one_class_images_apart(space: str) -> None:
    """The behaviour the term is for: G's images of one label, for different latents, move
    apart, in the space the term measures, when G follows its gradient (D fixed)."""
    torch.manual_seed(0)
    module = keras_module(width=8, latent_dim=8, num_classes=10,
                          mode_seeking={"weight": 1.0, "space": space})  # fmt: skip
    generator, objective = module.generator, module.objective
    module.discriminator.eval().requires_grad_(False)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3)
    labels = torch.full((16,), 7)

    def seen(images: torch.Tensor) -> torch.Tensor:
        return images if space == "pixels" else module.discriminator.feature_map(images)

    def spread() -> float:  # mean relative |G(z1, 7) - G(z2, 7)| over fresh latents, eval mode
        with torch.no_grad():
            generator.eval()
            z, twin_z = torch.randn(64, 8), torch.randn(64, 8)
            fake, twins = with_twins(generator, z, labels.repeat(4), twin_z)
            generator.train()
            a, b = seen(fake), seen(twins.images)
        return float((a - b).abs().mean() / (a.abs().mean() + b.abs().mean()))

    before = spread()
    for _ in range(30):
        fake, twins = with_twins(generator, torch.randn(16, 8), labels, torch.randn(16, 8))
        optimizer.zero_grad()
        # the term alone: D is fixed and in eval mode, so the GAN parts cancel exactly
        term = objective.generator_loss(fake, labels, twins=twins)
        (term - objective.generator_loss(fake, labels)).backward()
        optimizer.step()
    assert spread() > 1.5 * before
