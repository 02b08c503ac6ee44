from __future__ import annotations

import pytest
import torch

from dcgan_lab.errors import ArgumentError
from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.models.dropout import UniformMaskDropout


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_reference_parameter_counts_match_keras_reference() -> None:
    keras = KerasGenerator(
        latent_dim=100, width=64, conventions="keras", activation_before_norm=True
    )
    assert n_params(keras) == 852_609  # the Keras recipe's, biases before BatchNorm included
    assert n_params(KerasDiscriminator(width=64, dropout=0.3)) == 212_865


def expected_generator_params(latent: int, w: int) -> int:
    """DCGAN conventions: no bias in the dense layer and first conv (a BatchNorm follows)."""
    dense = 2 * w * 7 * 7
    return latent * dense + 2 * dense + (2 * w * 25) * w + 2 * w + (w * 25 + 1)


@pytest.mark.parametrize(
    ("conventions", "activation_before_norm", "biased"),
    [
        ("dcgan", False, set()),  # both layers feed a BatchNorm: no bias
        ("dcgan", True, {"project.0"}),  # Dense -> LeakyReLU -> BN: the bias is not cancelled
        ("keras", False, {"project.0", "upsample.1"}),  # the Keras code's layers keep theirs
        ("keras", True, {"project.0", "upsample.1"}),
    ],
)
@pytest.mark.parametrize("fused", [False, True])
def test_only_layers_whose_bias_a_batchnorm_cancels_go_without(
    conventions: str, activation_before_norm: bool, biased: set[str], fused: bool
) -> None:
    g = KerasGenerator(latent_dim=8, width=4, conventions=conventions, fused_upsample=fused,
                       activation_before_norm=activation_before_norm)  # fmt: skip
    has_bias = {layer for layer in ("project.0", "upsample.1")
                if g.get_submodule(layer).bias is not None}  # fmt: skip
    assert has_bias == biased
    assert g.get_submodule("upsample.5").bias is not None  # the output conv keeps its bias
    assert set(g.folded_biases()) == {"project.0", "upsample.1"} - biased


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
        (
            lambda: KerasGenerator(conditional=True, num_classes=10, label_norm="yes"),
            "label_norm='yes': use true or false",
        ),
        (lambda: KerasGenerator(conditional=True, num_classes=10, label_norm=1), "label_norm=1"),
        (lambda: KerasGenerator(label_norm=True), "label_norm=true needs a conditional model"),
        (lambda: KerasDiscriminator(minibatch_std=1), "minibatch_std=1 must be 0 (off) or a"),
        (lambda: KerasDiscriminator(minibatch_std=-2), "minibatch_std=-2"),
        (lambda: KerasDiscriminator(minibatch_std=2.5), "minibatch_std=2.5"),
        (lambda: KerasDiscriminator(minibatch_std=True), "minibatch_std=True"),
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


@pytest.mark.parametrize("p", [0.3, 0.6, 0.999999])
def test_uniform_mask_dropout_keeps_one_minus_p_and_rescales_like_nn_dropout(p: float) -> None:
    torch.manual_seed(0)
    dropout = UniformMaskDropout(p)
    x = torch.full((200_000,), 2.0, requires_grad=True)
    y = dropout(x)
    kept = y != 0
    # p rounded to 1/65536 (never all dropped); the kept ones scaled by that rate's inverse.
    dropped = min(round(p * 65536), 65535)
    scale = 65536 / (65536 - dropped)
    # 200k draws: the kept share is within 0.5% of 1 - p (about 5 standard deviations).
    assert abs(kept.float().mean().item() - (1 - dropped / 65536)) < 0.005
    assert torch.allclose(y[kept], torch.tensor(2.0 * scale))
    if p < 0.9:
        assert abs(y.mean().item() - 2.0) < 0.03  # unbiased, as nn.Dropout
    y.sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad, kept * torch.tensor(scale))  # gradient through kept ones only
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_uniform_mask_dropout_draws_each_element_alike_in_any_layout() -> None:
    """Four elements share one 64-bit draw: each of the four 16-bit lanes (the sign bit's
    included) must keep 1 - p, and the output keeps x's memory format and dtype."""
    torch.manual_seed(0)
    dropout = UniformMaskDropout(0.5)
    x = torch.ones(64, 32, 10, 10).contiguous(memory_format=torch.channels_last)
    y = dropout(x)
    assert y.is_contiguous(memory_format=torch.channels_last)
    lanes = (y.permute(0, 2, 3, 1).reshape(-1, 4) != 0).float().mean(dim=0)  # memory order
    assert torch.allclose(lanes, torch.full((4,), 0.5), atol=0.01), lanes
    assert dropout(x.bfloat16()).dtype == torch.bfloat16
    strided = torch.ones(50, 40)[:, ::2]  # not dense: the mask is laid out plainly
    assert dropout(strided).shape == (50, 20)
    assert dropout(torch.ones(0, 3)).shape == (0, 3)
