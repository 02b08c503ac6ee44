from __future__ import annotations

import pytest
import torch

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models import DCGANDiscriminator, DCGANGenerator


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_pytorch_examples_at_64px_rgb() -> None:
    """nz=100, ngf=ndf=64, nc=3, 64x64: pytorch/examples dcgan/main.py's counts (no biases)."""
    assert (
        n_params(DCGANGenerator(latent_dim=100, width=64, channels=3, image_size=64)) == 3_576_704
    )
    assert n_params(DCGANDiscriminator(width=64, channels=3, image_size=64)) == 2_765_568


def test_layers_follow_the_paper_order() -> None:
    g = DCGANGenerator(latent_dim=100, width=64, channels=3, image_size=64)
    kinds = [type(m).__name__ for m in g.main]
    assert kinds[0] == "ConvTranspose2d" and kinds[-1] == "Tanh"
    assert kinds[1:4] == ["BatchNorm2d", "ReLU", "ConvTranspose2d"]
    assert [m.out_channels for m in g.main if isinstance(m, torch.nn.ConvTranspose2d)] == [
        512, 256, 128, 64, 3,
    ]  # fmt: skip
    d = DCGANDiscriminator(width=64, channels=3, image_size=64)
    kinds = [type(m).__name__ for m in d.main]
    assert kinds[:2] == ["Conv2d", "LeakyReLU"]  # no BatchNorm on the first layer
    assert kinds[2:5] == ["Conv2d", "BatchNorm2d", "LeakyReLU"]
    assert all(m.bias is None for m in d.modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize(("channels", "size"), [(3, 64), (3, 32), (1, 32), (1, 16), (4, 8)])
def test_any_power_of_two_side_and_channel_count(channels: int, size: int) -> None:
    g = DCGANGenerator(latent_dim=10, width=8, channels=channels, image_size=size)
    d = DCGANDiscriminator(width=8, channels=channels, image_size=size)
    images = g(torch.randn(2, 10))
    assert images.shape == (2, channels, size, size)
    assert images.abs().max() <= 1
    assert d(images).shape == (2,)


def test_dropout_adds_no_parameters_and_is_active_in_train_mode() -> None:
    plain = DCGANDiscriminator(width=8, dropout=0.0, channels=1, image_size=32)
    dropped = DCGANDiscriminator(width=8, dropout=0.5, channels=1, image_size=32)
    assert n_params(plain) == n_params(dropped)
    x = torch.randn(4, 1, 32, 32)
    assert not torch.equal(dropped(x), dropped(x))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: DCGANGenerator(image_size=28),
            "image_size=28: these networks need a power of two",
        ),
        (lambda: DCGANGenerator(image_size=4), "image_size=4"),
        (lambda: DCGANGenerator(image_size=48), "image_size=48"),
        (lambda: DCGANDiscriminator(image_size=100), "image_size=100"),
        (lambda: DCGANGenerator(width=0), "width=0 must be a positive integer"),
        (lambda: DCGANGenerator(latent_dim=-1), "latent_dim=-1"),
        (lambda: DCGANDiscriminator(width=2.5), "width=2.5"),  # type: ignore[arg-type]
        (lambda: DCGANDiscriminator(dropout=1.2), "dropout=1.2"),
        (lambda: DCGANDiscriminator(channels=0), "channels=0"),
    ],
)
def test_invalid_arguments_name_the_argument(build, message: str) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(").replace(".", r"\.")):
        build()
