from __future__ import annotations

import pytest
import torch

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.models.dropout import UniformMaskDropout


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_reference_parameter_counts_match_keras_reference() -> None:
    assert n_params(KerasGenerator(latent_dim=100, width=64)) == 852_609
    assert n_params(KerasDiscriminator(width=64, dropout=0.3)) == 212_865


def expected_generator_params(latent: int, w: int) -> int:
    dense = 2 * w * 7 * 7
    return (latent + 1) * dense + 2 * dense + (2 * w * 25 + 1) * w + 2 * w + (w * 25 + 1)


def expected_discriminator_params(w: int) -> int:
    return (25 + 1) * w + (w * 25 + 1) * 2 * w + (2 * w * 7 * 7 + 1)


@pytest.mark.parametrize(("latent", "width"), [(100, 64), (32, 32), (256, 128), (7, 5)])
def test_shapes_and_counts_for_several_widths_and_latents(latent: int, width: int) -> None:
    g, d = KerasGenerator(latent_dim=latent, width=width), KerasDiscriminator(width=width)
    assert n_params(g) == expected_generator_params(latent, width)
    assert n_params(d) == expected_discriminator_params(width)
    images = g(torch.randn(3, latent))
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (3,)


@pytest.mark.parametrize(("channels", "size"), [(3, 32), (3, 64), (1, 16)])
def test_any_channel_count_and_side_divisible_by_four(channels: int, size: int) -> None:
    g = KerasGenerator(latent_dim=8, width=8, channels=channels, image_size=size)
    d = KerasDiscriminator(width=8, channels=channels, image_size=size)
    images = g(torch.randn(2, 8))
    assert images.shape == (2, channels, size, size)
    assert d(images).shape == (2,)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: KerasGenerator(latent_dim=0), "latent_dim=0 must be a positive integer"),
        (lambda: KerasGenerator(latent_dim=-3), "latent_dim=-3"),
        (lambda: KerasGenerator(latent_dim=10.5), "latent_dim=10.5"),  # type: ignore[arg-type]
        (lambda: KerasGenerator(latent_dim=True), "latent_dim=True"),
        (lambda: KerasGenerator(width=0), "width=0 must be a positive integer"),
        (lambda: KerasGenerator(channels=0), "channels=0"),
        (lambda: KerasDiscriminator(width=-1), "width=-1"),
        (lambda: KerasDiscriminator(dropout=1.0), "dropout=1.0 must be a number in [0, 1)"),
        (lambda: KerasDiscriminator(dropout=-0.1), "dropout=-0.1"),
        (lambda: KerasDiscriminator(dropout="x"), "dropout='x'"),  # type: ignore[arg-type]
        (lambda: KerasGenerator(image_size=30), "image_size=30 must be divisible by 4"),
        (lambda: KerasDiscriminator(image_size=0), "image_size=0"),
    ],
)
def test_invalid_arguments_name_the_argument(build, message: str) -> None:
    """Each network names its own argument; the entry point adds the config key (test_errors)."""
    with pytest.raises(ArgumentError) as caught:
        build()
    assert message in str(caught.value)
    assert str(caught.value.at("model.generator")).startswith("model.generator.")


def test_discriminator_dropout_is_active_only_in_train_mode() -> None:
    torch.manual_seed(0)
    d = KerasDiscriminator(dropout=0.5)
    x = torch.randn(4, 1, 28, 28)
    d.eval()
    assert torch.equal(d(x), d(x))
    d.train()
    assert not torch.equal(d(x), d(x))


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_uniform_mask_dropout_keeps_one_minus_p_and_rescales_like_nn_dropout(p: float) -> None:
    torch.manual_seed(0)
    dropout = UniformMaskDropout(p)
    x = torch.full((200_000,), 2.0, requires_grad=True)
    y = dropout(x)
    kept = y != 0
    # 200k draws: the kept share is within 0.5% of 1 - p (about 5 standard deviations).
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005
    assert torch.allclose(y[kept], torch.tensor(2.0 / (1 - p)))
    assert abs(y.mean().item() - 2.0) < 0.03  # unbiased, as nn.Dropout
    y.sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad, kept * (1 / (1 - p)))  # gradient flows through kept elements only
    dropout.eval()
    assert torch.equal(dropout(x), x)
