"""Keras layer conventions: padding, BatchNorm statistics and initialisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.models.conventions import KerasBatchNorm1d, SamePaddingConv2d, batch_norm


@pytest.mark.parametrize(("side", "pads"), [(28, (1, 2)), (14, (1, 2)), (7, (2, 2))])
def test_same_padding_puts_the_odd_pixel_at_the_end(side: int, pads: tuple[int, int]) -> None:
    conv = SamePaddingConv2d(1, 2, 5, 2, padding=0)
    x = torch.randn(1, 1, side, side)
    expected = F.conv2d(F.pad(x, (*pads, *pads)), conv.weight, conv.bias, stride=2)
    out = conv(x)
    assert out.shape[-1] == -(-side // 2)
    torch.testing.assert_close(out, expected)


def test_keras_batchnorm_feeds_the_biased_variance_to_its_moving_average() -> None:
    x = torch.randn(4, 3) * 2
    keras_bn = KerasBatchNorm1d(3, eps=1e-3, momentum=0.01)
    torch_bn = nn.BatchNorm1d(3, eps=1e-3, momentum=0.01)
    out = keras_bn(x)
    torch.testing.assert_close(out, torch_bn(x))  # the same normalisation in training mode
    biased = x.var(dim=0, unbiased=False)
    torch.testing.assert_close(keras_bn.running_var, 0.99 + 0.01 * biased)
    assert not torch.allclose(
        torch.as_tensor(keras_bn.running_var), torch.as_tensor(torch_bn.running_var)
    )  # torch: unbiased


def test_keras_conventions_build_keras_layers_and_glorot_weights() -> None:
    g = KerasGenerator(latent_dim=100, width=64, conventions="keras", activation_before_norm=True)
    dense, act, norm = list(g.project)
    assert isinstance(dense, nn.Linear) and isinstance(act, nn.LeakyReLU)
    assert isinstance(norm, KerasBatchNorm1d) and norm.eps == 1e-3 and norm.momentum == 0.01
    limit = (6 / (100 + 6272)) ** 0.5  # glorot-uniform bound of the dense layer
    assert dense.weight.abs().max() <= limit and dense.weight.abs().max() > 0.9 * limit
    assert torch.all(dense.bias == 0) and torch.all(norm.weight == 1)
    d = KerasDiscriminator(conventions="keras")
    assert isinstance(d.features[0], SamePaddingConv2d) and d(torch.zeros(2, 1, 28, 28)).shape == (
        2,
    )
    # the default keeps PyTorch's layers and the DCGAN paper's init
    plain = KerasGenerator()
    assert (
        isinstance(plain.project[1], nn.BatchNorm1d)
        and type(batch_norm(3, "dcgan")) is nn.BatchNorm2d
    )
