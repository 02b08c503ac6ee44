"""Labels are checked as they enter: one whole class number per image, a few classes."""

from __future__ import annotations

import numpy as np
import pytest

from dcgan_lab.data.splits import MAX_CLASSES, checked_labels
from dcgan_lab.errors import UserError


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1, 2.5]), "label 2.5 is not a whole number"),
        (np.array([0.0, np.nan, 1.0]), "label nan is not a whole number"),
        (np.array(["a", "b", "c"]), "labels of type <U1 are not class numbers"),
        (np.array([0, 1, -2]), "label -2 is outside 0..999"),
        (np.array([0, 1, MAX_CLASSES]), "label 1000 is outside 0..999"),
        (np.array([0, 1]), r"\(2,\) labels for 3 images"),
        (np.zeros((3, 1)), r"\(3, 1\) labels for 3 images"),
    ],
)
def test_bad_labels_are_refused_with_the_value(labels: np.ndarray, message: str) -> None:
    with pytest.raises(UserError, match=message):
        checked_labels(labels, "the training labels", 3)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 9, 3]),
        np.array([0.0, 2.0, 1.0]),
        np.array([-1, -1, -1]),
        np.array([True, False, True]),
    ],
)
def test_good_labels_become_int64(labels: np.ndarray) -> None:
    out = checked_labels(labels, "labels", 3)
    assert out.dtype == np.int64 and out.tolist() == labels.astype(np.int64).tolist()
