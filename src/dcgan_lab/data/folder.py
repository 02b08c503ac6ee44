"""A folder of PNG/JPEG images as a dataset: one subfolder per class gives labels.

Decoded once (centre-cropped, resized, grey or RGB) into a uint8 cache keyed by the folder's
content (file names, sizes and modification times) and the requested shape.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from dcgan_lab.data.splits import UNLABELLED, ImageSplits, holdout_split
from dcgan_lab.errors import UserError
from dcgan_lab.runs.atomic import atomic_write

EXTENSIONS = (".png", ".jpg", ".jpeg")
CACHE_VERSION = 2  # bump when decoding changes: older cache entries are then ignored


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in EXTENSIONS and not path.name.startswith(".")


def scan(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """(image files, labels (N,), class names): a class per subfolder, else unlabelled."""
    if not root.is_dir():
        raise UserError(f"data.source.root={root} is not a folder; point it at your images")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    loose = sorted(p for p in root.iterdir() if is_image(p))
    labelled = {
        name: sorted(p for p in (root / name).rglob("*") if is_image(p)) for name in classes
    }
    labelled = {name: files for name, files in labelled.items() if files}
    if labelled and loose:
        raise UserError(
            f"{root} holds images both loose ({loose[0].name}) and in class subfolders "
            f"({next(iter(labelled))}/); move the loose ones into a subfolder"
        )
    if labelled:
        files = [p for name in labelled for p in labelled[name]]
        labels = np.concatenate(
            [np.full(len(group), i) for i, group in enumerate(labelled.values())]
        )
        return files, labels.astype(np.int64), list(labelled)
    if not loose:
        raise UserError(f"no PNG or JPEG images in {root} (nor in its subfolders)")
    return loose, np.full(len(loose), UNLABELLED, dtype=np.int64), []


def content_key(root: Path, files: list[Path], channels: int, size: int) -> str:
    """The cache key of a folder's decoded images: every file's name and bytes (not its size
    and time, which ``cp -p`` and ``rsync -a`` keep for rewritten images)."""
    digest = hashlib.blake2b(f"v{CACHE_VERSION} {channels} {size}".encode(), digest_size=16)
    for path in files:
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    return digest.hexdigest()


def decode(path: Path, channels: int, size: int) -> np.ndarray:
    """One image file -> uint8 (size, size) or (size, size, 3): centre crop, then resize.

    16-bit greys (PNG) are scaled to 8 bits, not clipped; a picture over PIL's pixel limit
    (a decompression bomb: a small file that unpacks to gigabytes) is refused."""
    try:
        with Image.open(path) as image:
            picture = (
                image.convert("L" if channels == 1 else "RGB")
                if image.mode[0] != "I"
                else (sixteen_bit_grey(image).convert("L" if channels == 1 else "RGB"))
            )
    except Image.DecompressionBombError:
        raise UserError(
            f"image {path} has over {Image.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?); "
            "resize it or remove it"
        ) from None
    except (OSError, UnidentifiedImageError) as err:
        raise UserError(f"cannot read image {path} ({err}); remove or replace it") from None
    fitted = ImageOps.fit(picture, (size, size), Image.Resampling.BICUBIC)
    return np.asarray(fitted, dtype=np.uint8)


def sixteen_bit_grey(image: Image.Image) -> Image.Image:
    """A 16-bit (``I;16``) or 32-bit integer grey image as 8-bit ``L``, 0..65535 -> 0..255."""
    values = np.asarray(image, dtype=np.float64)
    return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")


@dataclass
class ImageFolder:
    """Images under ``root``: ``root/<class>/*.png`` (labelled) or ``root/*.png``."""

    root: str
    channels: int = 3
    image_size: int = 64
    val_fraction: float = 0.1
    seed: int = 0  # the held-out split's shuffle: fixed, so runs share one held-out set
    cache_dir: str | None = None  # decoded arrays; null: decode every time

    def load(self) -> ImageSplits:
        if self.channels not in (1, 3):
            raise UserError(f"data.channels={self.channels}: an image folder is read as 1 or 3")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError(f"data.source.val_fraction={self.val_fraction} must be in (0, 1)")
        root = Path(self.root).expanduser()
        files, labels, classes = scan(root)
        images = self._cached(root, files)
        if classes:
            print(f"{root}: {len(files)} images in {len(classes)} classes ({', '.join(classes)})")
        return holdout_split(images, labels, self.val_fraction, self.seed)

    def _cached(self, root: Path, files: list[Path]) -> np.ndarray:
        """(N, H, W[, 3]) uint8, from the cache when the folder is unchanged."""
        cache = None
        if self.cache_dir:
            key = content_key(root, files, self.channels, self.image_size)
            cache = Path(self.cache_dir).expanduser() / "folders" / f"{key}.npy"
            if cache.is_file():
                try:
                    return np.load(cache, allow_pickle=False)
                except (OSError, ValueError):
                    pass  # a damaged entry is decoded again below
        images = np.stack(
            [
                decode(path, self.channels, self.image_size)
                for path in tqdm(files, desc=f"decoding {root.name}", unit="img", disable=None)
            ]
        )
        if cache is not None:
            buffer = io.BytesIO()
            np.save(buffer, images, allow_pickle=False)
            try:
                atomic_write(cache, lambda f: f.write(buffer.getbuffer()))
            except OSError as err:
                print(f"not caching the decoded images in {cache.parent} ({err.strerror})")
        return images
