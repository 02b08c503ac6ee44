"""Minibatch standard deviation: D's head reads the spread of each group of images."""

from __future__ import annotations

import pytest
import torch

from dcgan_lab.models import DCGANDiscriminator, KerasDiscriminator
from dcgan_lab.models.base import Discriminator
from dcgan_lab.models.minibatch_std import group_size, with_minibatch_std


@pytest.mark.parametrize(
    ("batch", "group", "expected"), [(8, 4, 4), (6, 4, 3), (7, 4, 1), (2, 4, 2), (1, 4, 1)]
)
def test_groups_are_whole(batch: int, group: int, expected: int) -> None:
    assert group_size(batch, group) == expected


def test_the_extra_map_is_the_spread_of_each_image_s_group() -> None:
    torch.manual_seed(0)
    features = torch.randn(8, 3, 2, 2)
    features[1::2] = features[1]  # the group of odd images: one image four times
    out = with_minibatch_std(features, 4)  # groups {0, 2, 4, 6} and {1, 3, 5, 7}
    assert out.shape == (8, 4, 2, 2)
    torch.testing.assert_close(out[:, :3], features)
    even = features[0::2].std(dim=0, unbiased=False).mean()
    torch.testing.assert_close(out[0::2, 3], even.expand(4, 2, 2), atol=1e-4, rtol=0)
    assert float(out[1::2, 3].max()) < 1e-3  # copies have no spread


@pytest.mark.parametrize(
    "d",
    [
        KerasDiscriminator(width=8, dropout=0.0, minibatch_std=4),
        DCGANDiscriminator(width=8, channels=1, image_size=16, minibatch_std=2),
    ],
)
def test_a_logit_depends_on_its_group_only(d: Discriminator) -> None:
    d.eval()
    side = d.image_size
    x = torch.randn(8, 1, side, side)
    group_mates = x.clone()
    group_mates[4] = torch.randn(1, side, side)  # in image 0's group (groups of 4: n % 2)
    assert not d.batch_independent
    logits = d(x)
    changed = d(group_mates)
    assert not torch.isclose(changed[0], logits[0])
    if d.minibatch_std == 4:
        torch.testing.assert_close(changed[1::2], logits[1::2])  # the other group's
    assert d(x[:1]).shape == (1,)  # one image alone: spread 0, still scored


def test_the_head_reads_one_more_map() -> None:
    plain = KerasDiscriminator(width=8)
    spread = KerasDiscriminator(width=8, minibatch_std=4)
    assert plain.batch_independent
    assert spread.classify.in_features == plain.classify.in_features + 7 * 7
