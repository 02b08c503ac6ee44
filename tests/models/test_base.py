"""The conditional parts and the build spec every network shares."""

from __future__ import annotations

import hydra
import pytest
import torch

from dcgan_lab.errors import UserError
from dcgan_lab.models import DCGANDiscriminator, DCGANGenerator, KerasDiscriminator, KerasGenerator
from dcgan_lab.models.label_norm import LabelAffine

NETWORKS = [
    (KerasGenerator, KerasDiscriminator, {"image_size": 28, "channels": 1}),
    (DCGANGenerator, DCGANDiscriminator, {"image_size": 32, "channels": 3}),
]


@pytest.mark.parametrize(("g_cls", "d_cls", "shape"), NETWORKS)
def test_conditional_generator_draws_different_images_per_label(g_cls, d_cls, shape) -> None:
    torch.manual_seed(0)
    g = g_cls(latent_dim=8, width=8, conditional=True, num_classes=10, **shape).eval()
    z = torch.randn(1, 8).repeat(10, 1)  # one noise vector, every class
    images = g(z, torch.arange(10))
    assert images.shape == (10, shape["channels"], shape["image_size"], shape["image_size"])
    assert len({tuple(img.flatten()[:50].tolist()) for img in images}) == 10
    with pytest.raises(ValueError, match="needs labels"):
        g(z)


@pytest.mark.parametrize(("g_cls", "d_cls", "shape"), NETWORKS)
def test_projection_discriminator_adds_the_label_embedding_dot_features(
    g_cls, d_cls, shape
) -> None:
    d = d_cls(width=8, conditional=True, num_classes=10, **shape).eval()
    x = torch.randn(3, shape["channels"], shape["image_size"], shape["image_size"])
    labels = torch.tensor([0, 4, 9])
    features = d.feature_map(x)  # (3, C, h, w)
    assert features.shape[:2] == (3, d.pooled_dim)
    assert d.label_projection is not None
    pooled = features.sum(dim=(2, 3))  # (3, C): global sum pooling
    expected = d.classify(features.flatten(1)).squeeze(1)
    expected = expected + (d.label_projection(labels) * pooled).sum(1)
    assert torch.allclose(d(x, labels), expected)
    assert not torch.allclose(d(x, labels), d(x, torch.tensor([1, 1, 1])))


@pytest.mark.parametrize(("g_cls", "d_cls", "shape"), NETWORKS)
def test_label_norm_scales_and_shifts_each_batchnorm_for_its_own_class_only(
    g_cls, d_cls, shape
) -> None:
    torch.manual_seed(0)
    g = g_cls(latent_dim=8, width=8, conditional=True, num_classes=10, label_norm=True, **shape)
    g.eval()
    affines = [m for m in g.modules() if isinstance(m, LabelAffine)]
    norms = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(affines) == len(norms) > 0
    z, labels = torch.randn(20, 8), torch.arange(10).repeat(2)
    before = g(z, labels)
    with torch.no_grad():  # class 3 alone gets its own scale and shift
        for affine in affines:
            affine.gain.weight[3].fill_(0.5)
            affine.shift.weight[3].fill_(0.2)
    after = g(z, labels)
    three = labels == 3
    assert torch.equal(after[~three], before[~three])
    assert (after[three] - before[three]).abs().amax(dim=(1, 2, 3)).min() > 0.01


def test_a_new_label_norm_starts_as_the_plain_conditional_generator() -> None:
    """Its scales and shifts start at 0: the same weights draw the same images."""
    torch.manual_seed(0)
    plain = KerasGenerator(latent_dim=8, width=8, conditional=True, num_classes=10).eval()
    normed = KerasGenerator(
        latent_dim=8, width=8, conditional=True, num_classes=10, label_norm=True
    ).eval()
    affines = tuple(f"{name}." for name, m in normed.named_modules() if isinstance(m, LabelAffine))
    shared = [p for name, p in normed.named_parameters() if not name.startswith(affines)]
    for source, target in zip(plain.parameters(), shared, strict=True):
        target.data.copy_(source.data)
    z, labels = torch.randn(6, 8), torch.tensor([0, 1, 2, 7, 8, 9])
    assert torch.allclose(normed(z, labels), plain(z, labels))


def test_unconditional_networks_have_no_label_parameters() -> None:
    g, d = KerasGenerator(), KerasDiscriminator()
    assert g.label_embedding is None and d.label_projection is None
    assert g.input_dim == g.latent_dim


def test_conditional_needs_a_class_count() -> None:
    with pytest.raises(UserError, match="needs labelled data"):
        KerasGenerator(conditional=True, num_classes=None)


@pytest.mark.parametrize(
    "net",
    [
        KerasGenerator(latent_dim=12, width=16, fused_upsample=True),
        KerasDiscriminator(width=16, dropout=0.2, spectral_norm=True),
        DCGANGenerator(
            latent_dim=20, width=8, channels=1, image_size=32, conditional=True, num_classes=3
        ),
        DCGANDiscriminator(width=8, channels=3, image_size=16, conditional=True, num_classes=4),
        KerasGenerator(latent_dim=12, width=16, conditional=True, num_classes=5, label_norm=True),
        KerasDiscriminator(width=16, conditional=True, num_classes=5, minibatch_std=4),
    ],
)
def test_spec_rebuilds_the_same_architecture(net: torch.nn.Module) -> None:
    rebuilt = hydra.utils.instantiate(net.spec())  # type: ignore[operator]
    assert type(rebuilt) is type(net)
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes


def test_spectral_norm_reparametrises_every_conv_and_linear_of_d() -> None:
    d = DCGANDiscriminator(width=8, channels=1, image_size=16, spectral_norm=True)
    layers = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
