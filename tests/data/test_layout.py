"""Image arrays in every layout, and conversion to the config's channels and size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dcgan_lab.data import ImageDataModule, ImageSplits
from dcgan_lab.data.layout import conform, to_nchw
from dcgan_lab.data.splits import UNLABELLED
from dcgan_lab.errors import UserError

RNG = np.random.default_rng(0)
RGB_NHWC = RNG.integers(0, 256, size=(5, 12, 12, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (RGB_NHWC[..., 0], RGB_NHWC[..., 0][:, None]),  # (N, H, W) grey
        (RGB_NHWC, RGB_NHWC.transpose(0, 3, 1, 2)),  # (N, H, W, C)
        (RGB_NHWC.transpose(0, 3, 1, 2), RGB_NHWC.transpose(0, 3, 1, 2)),  # (N, C, H, W)
        (RGB_NHWC[..., :1], RGB_NHWC[..., :1].transpose(0, 3, 1, 2)),  # (N, H, W, 1)
        (RGB_NHWC[:, :3, :, :3], None),  # (N, 3, 12, 3): a 12x3 or a 3x12 image?
    ],
)
def test_each_layout_reads_as_nchw(array: np.ndarray, expected: np.ndarray | None) -> None:
    if expected is None:  # neither reading is square: refused, not guessed
        with pytest.raises(UserError, match="cannot tell its channel axis"):
            to_nchw(array)
        return
    out = to_nchw(array)
    assert out.shape == expected.shape and np.array_equal(out, expected)
    assert out.flags.c_contiguous and out.dtype == np.uint8


def test_rgb_pixels_keep_their_colour_through_nhwc() -> None:
    array = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    array[0, 1, 2] = [10, 20, 30]  # one pixel at row 1, column 2
    out = to_nchw(array)
    assert out[0, :, 1, 2].tolist() == [10, 20, 30]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 5, 6, 7), dtype=np.uint8), "cannot tell its channel axis"),
        (np.zeros((2, 3, 3, 3), dtype=np.uint8), "cannot tell its channel axis"),
        (np.zeros((4, 4), dtype=np.uint8), "expected \\(N, H, W\\)"),
        (np.full((2, 4, 4), 300, dtype=np.int32), "values in \\[300, 300\\]"),
        (np.full((2, 4, 4), 2.0), "use uint8 0..255 or floats in \\[0, 1\\]"),
    ],
)
def test_bad_arrays_are_refused_in_one_line(array: np.ndarray, message: str) -> None:
    with pytest.raises(UserError, match=message):
        to_nchw(array)


def test_float_and_integer_arrays_are_converted() -> None:
    assert to_nchw(np.full((1, 2, 2), 1.0))[0, 0, 0, 0] == 255
    assert to_nchw(np.full((1, 2, 2), 7, dtype=np.int64)).dtype == np.uint8


def test_conform_converts_channels_and_resizes_with_antialiasing() -> None:
    grey = torch.full((2, 1, 28, 28), 200, dtype=torch.uint8)
    rgb = conform(grey, 3, 32)
    assert rgb.shape == (2, 3, 32, 32) and int(rgb.min()) == int(rgb.max()) == 200
    colour = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    colour[:, 1] = 255  # pure green
    assert int(conform(colour, 1, 8)[0, 0, 0, 0]) == round(0.587 * 255)
    wide = torch.zeros(1, 1, 8, 16, dtype=torch.uint8)
    wide[..., 4:12] = 255  # the centre square is white
    assert int(conform(wide, 1, 8).min()) == 255  # centre-cropped, not squeezed


def test_datamodule_follows_the_data_and_resizes_when_asked() -> None:
    class Arrays:
        def load(self) -> ImageSplits:
            labels = np.array([0, 1, 2, 0, 1])
            return ImageSplits.from_numpy((RGB_NHWC, labels), (RGB_NHWC[:2], labels[:2]))

    follows = ImageDataModule(Arrays(), batch_size=2)
    follows.setup()
    assert (follows.channels, follows.image_size, follows.num_classes) == (3, 12, 3)
    resized = ImageDataModule(Arrays(), batch_size=2, channels=1, image_size=8)
    assert resized.loaded().train_images.shape == (5, 1, 8, 8)
    with pytest.raises(UserError, match=r"labels up to 2 but data\.num_classes=2"):
        ImageDataModule(Arrays(), batch_size=2, num_classes=2).setup()


def test_unlabelled_data_has_no_classes() -> None:
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    unlabelled = np.full(4, UNLABELLED)
    splits = ImageSplits.from_numpy((images, unlabelled), (images[:2], unlabelled[:2]))
    assert splits.num_classes == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size=0 must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size=2.5"),
        ({"val_batch_size": -1}, "val_batch_size=-1"),
        ({"channels": 2}, "channels=2: choose 1 \\(grey\\) or 3 \\(RGB\\)"),
        ({"channels": 0}, "channels=0"),
        ({"image_size": 0}, "image_size=0"),
        ({"num_classes": 0}, "num_classes=0"),
    ],
)
def test_bad_datamodule_settings_name_the_argument(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        ImageDataModule(None, **kwargs)  # type: ignore[arg-type]
