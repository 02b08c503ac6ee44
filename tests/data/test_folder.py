"""data=folder: PNG/JPEG images made here, with and without class subfolders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan_lab.data.folder import ImageFolder
from dcgan_lab.errors import UserError


def write_images(folder: Path, n: int, colour: tuple[int, int, int], size=(40, 30), ext="png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", size, colour).save(folder / f"img{i:02d}.{ext}")


@pytest.fixture
def classes(tmp_path: Path) -> Path:
    root = tmp_path / "classes"
    write_images(root / "red", 6, (255, 0, 0))
    write_images(root / "blue", 4, (0, 0, 255), ext="jpg")
    return root


def test_class_subfolders_give_labels_and_shape(classes: Path, tmp_path: Path) -> None:
    splits = ImageFolder(str(classes), channels=3, image_size=16, val_fraction=0.2,
                         cache_dir=str(tmp_path / "cache")).load()  # fmt: skip
    assert splits.train_images.shape == (8, 3, 16, 16) and splits.val_images.shape == (2, 3, 16, 16)
    assert splits.num_classes == 2
    images = np.concatenate([splits.train_images.numpy(), splits.val_images.numpy()])
    labels = np.concatenate([splits.train_labels.numpy(), splits.val_labels.numpy()])
    # Classes in sorted folder order: blue 0, red 1; the pixels match the folder's colour.
    assert (images[labels == 0][:, 2] > 200).all() and (images[labels == 0][:, 0] < 50).all()
    assert (images[labels == 1][:, 0] > 200).all()


def test_loose_images_are_unlabelled_and_grey_when_asked(tmp_path: Path) -> None:
    write_images(tmp_path / "loose", 5, (0, 255, 0))
    splits = ImageFolder(str(tmp_path / "loose"), channels=1, image_size=8, val_fraction=0.2).load()
    assert splits.train_images.shape == (4, 1, 8, 8)
    assert splits.num_classes == 0
    assert int(splits.train_images[0, 0, 0, 0]) == round(0.587 * 255)


def test_decoded_images_are_cached_by_content(classes: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = ImageFolder(str(classes), image_size=16, cache_dir=str(cache)).load()
    entries = list((cache / "folders").glob("*.npy"))
    assert len(entries) == 1
    again = ImageFolder(str(classes), image_size=16, cache_dir=str(cache)).load()
    assert (again.train_images == first.train_images).all()
    assert list((cache / "folders").glob("*.npy")) == entries  # read, not written again
    ImageFolder(str(classes), image_size=8, cache_dir=str(cache)).load()  # another shape
    assert len(list((cache / "folders").glob("*.npy"))) == 2
    changed = classes / "red" / "img00.png"
    Image.new("RGB", (40, 30), (255, 0, 0)).save(changed, compress_level=0)  # a fixed size
    stale = ImageFolder(str(classes), image_size=16, cache_dir=str(cache)).load()
    before = changed.stat()
    Image.new("RGB", (40, 30), (0, 255, 0)).save(changed, compress_level=0)
    assert changed.stat().st_size == before.st_size  # the same size and, as `cp -p` and
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))  # `rsync -a` leave, time
    fresh = ImageFolder(str(classes), image_size=16, cache_dir=str(cache)).load()
    assert len(list((cache / "folders").glob("*.npy"))) == 4  # new content: a new entry
    assert (
        not (fresh.train_images == stale.train_images).all()
        or not (fresh.val_images == stale.val_images).all()
    )


@pytest.mark.parametrize(
    ("setup", "kwargs", "message"),
    [
        (lambda root: None, {}, "is not a folder"),
        (lambda root: root.mkdir(), {}, "no PNG or JPEG images"),
        (lambda root: write_images(root, 2, (1, 1, 1)), {"channels": 4}, "read as 1 or 3"),
        (lambda root: write_images(root, 2, (1, 1, 1)), {"val_fraction": 1.0}, "in \\(0, 1\\)"),
        (
            lambda root: (write_images(root, 2, (1, 1, 1)), write_images(root / "a", 2, (1, 1, 1))),
            {},
            "both loose .* and in class subfolders",
        ),
        (
            lambda root: (root.mkdir(), (root / "bad.png").write_bytes(b"not a png")),
            {},
            "cannot read image .*bad.png",
        ),
    ],
)
def test_bad_folders_fail_in_one_line(tmp_path: Path, setup, kwargs, message: str) -> None:
    root = tmp_path / "images"
    setup(root)
    with pytest.raises(UserError, match=message):
        ImageFolder(str(root), image_size=8, **kwargs).load()
