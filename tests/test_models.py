from __future__ import annotations

import pytest
import torch

from dcgan_lab.errors import UserError
from dcgan_lab.models import Discriminator, Generator
from dcgan_lab.models.dropout import UniformMaskDropout


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_reference_parameter_counts_match_keras_reference() -> None:
    assert n_params(Generator(latent_dim=100, width=64)) == 852_609
    assert n_params(Discriminator(width=64, dropout=0.3)) == 212_865


def expected_generator_params(latent: int, w: int) -> int:
    dense = 2 * w * 7 * 7
    return (latent + 1) * dense + 2 * dense + (2 * w * 25 + 1) * w + 2 * w + (w * 25 + 1)


def expected_discriminator_params(w: int) -> int:
    return (25 + 1) * w + (w * 25 + 1) * 2 * w + (2 * w * 7 * 7 + 1)


@pytest.mark.parametrize(("latent", "width"), [(100, 64), (32, 32), (256, 128), (7, 5)])
def test_shapes_and_counts_for_several_widths_and_latents(latent: int, width: int) -> None:
    g, d = Generator(latent_dim=latent, width=width), Discriminator(width=width)
    assert n_params(g) == expected_generator_params(latent, width)
    assert n_params(d) == expected_discriminator_params(width)
    images = g(torch.randn(3, latent))
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (3,)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Generator(latent_dim=0), "model.generator.latent_dim=0"),
        (lambda: Generator(latent_dim=-3), "model.generator.latent_dim=-3"),
        (lambda: Generator(latent_dim=10.5), "model.generator.latent_dim=10.5"),  # type: ignore[arg-type]
        (lambda: Generator(width=0), "model.generator.width=0"),
        (lambda: Discriminator(width=-1), "model.discriminator.width=-1"),
        (lambda: Discriminator(dropout=1.0), "model.discriminator.dropout=1.0"),
        (lambda: Discriminator(dropout=-0.1), "model.discriminator.dropout=-0.1"),
        (lambda: Generator(image_size=30), "divisible by 4"),
    ],
)
def test_invalid_arguments_raise_user_error_naming_the_key(build, message: str) -> None:
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        build()


def test_discriminator_dropout_is_active_only_in_train_mode() -> None:
    torch.manual_seed(0)
    d = Discriminator(dropout=0.5)
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
