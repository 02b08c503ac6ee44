"""CIFAR-10 from the standard python-pickle tarball (``cifar-10-python.tar.gz``).

Read straight from the tarball. The pickles are unpickled with only the numpy classes an
array needs allowed, so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dcgan_lab.data.download import download_files
from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.errors import UserError

ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol 2 spells bytes when written by Python 3
}


class ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def read_batch(tar: tarfile.TarFile, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images (N, 3, 32, 32) uint8, labels (N,)."""
    member = next((m for m in tar.getmembers() if m.name.endswith(f"/{name}")), None)
    stream = tar.extractfile(member) if member is not None else None
    if stream is None:
        raise UserError(f"{path} has no {name}; it is not the CIFAR-10 python tarball")
    try:
        batch = ArrayUnpickler(stream, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        images = data.reshape(len(data), 3, 32, 32)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as err:
        raise UserError(f"{path}: {name} is not a CIFAR-10 batch ({err})") from None
    if len(images) != len(labels):
        raise UserError(f"{path}: {name} has {len(images)} images but {len(labels)} labels")
    return images, labels


@dataclass
class Cifar10:
    """The 50,000 training and 10,000 test images of CIFAR-10 (3x32x32, 10 classes)."""

    root: str
    mirrors: list[str] = field(default_factory=list)

    def load(self) -> ImageSplits:
        root = Path(self.root).expanduser()
        path = root / ARCHIVE
        if not path.is_file():
            where = f"put {ARCHIVE} in {root} (or point data.source.root at it)"
            if not self.mirrors:
                raise UserError(f"CIFAR-10 not found: {where}")
            download_files([ARCHIVE], root, self.mirrors, "CIFAR-10", where)
        try:
            with tarfile.open(path, "r:gz") as tar:
                train = [read_batch(tar, name, path) for name in TRAIN_BATCHES]
                test = read_batch(tar, TEST_BATCH, path)
        except (tarfile.TarError, OSError, EOFError) as err:
            raise UserError(f"cannot read {path} ({err}); replace it with a good copy") from None
        images = np.concatenate([images for images, _ in train])
        labels = np.concatenate([labels for _, labels in train])
        return ImageSplits.from_numpy((images, labels), test)
