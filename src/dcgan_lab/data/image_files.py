"""Generated images from any generator, read from an .npz or a folder of PNG/JPEG files.

Arrays must have the scored dataset's shape (dcgan-eval does not resize an .npz: a resized
sample is not the sample the other generator made); a folder is read as ``data=folder``
reads one (centre crop, then resize), which leaves files of the right size untouched.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.folder import decode, scan
from dcgan_lab.errors import UserError


def read_npz(path: Path) -> np.ndarray:
    """uint8 images from the ``images`` array (else the only array) of an .npz."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            name = "images" if "images" in names else names[0] if len(names) == 1 else None
            if name is None:
                raise UserError(
                    f"{path} holds {', '.join(names) or 'no arrays'}: name the images 'images'"
                )
            return archive[name]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise UserError(f"cannot read {path} as an .npz ({err})") from None


def as_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    """The pixel forms an .npz may hold, as uint8 0..255: integers in 0..255 as they are;
    floats in [0, 1] (``x * 0.5 + 0.5``), in [-1, 1] with negatives (a tanh's output) or in
    [0, 255] with some above 1, scaled; anything else, NaN or infinity included, refused."""
    if np.issubdtype(array.dtype, np.bool_) or not np.issubdtype(array.dtype, np.number):
        raise UserError(f"{path}: pixel values must be numbers, not {array.dtype}; save uint8")
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise UserError(f"{path}: pixel values must be in 0..255 (uint8), as dcgan-sample "
                            "writes")  # fmt: skip
        return array.astype(np.uint8)
    if not np.isfinite(array).all():
        raise UserError(f"{path}: holds NaN or infinite pixel values; save finite images")
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 1.0)
    if low >= 0.0 and high <= 1.0:
        return np.rint(array * 255.0).astype(np.uint8)
    if low >= -1.0 and high <= 1.0:
        return np.rint((array + 1.0) * 127.5).astype(np.uint8)
    if low >= 0.0 and high <= 255.0:
        return np.rint(array).astype(np.uint8)
    raise UserError(
        f"{path}: float pixel values in [{low:g}, {high:g}]: give floats in [0, 1], [-1, 1] or "
        "[0, 255], or uint8"
    )


def as_nchw(array: np.ndarray, channels: int, side: int, path: Path) -> torch.Tensor:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) pixels (``as_uint8``) -> uint8 (N, C, H, W)."""
    given = tuple(array.shape)
    if array.ndim == 3 and channels == 1:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] == channels and array.shape[1] != channels:
        array = array.transpose(0, 3, 1, 2)
    expected = (channels, side, side)
    if array.ndim != 4 or tuple(array.shape[1:]) != expected or len(array) < 2:
        raise UserError(
            f"{path}: images of shape {given}, but the dataset's are "
            f"(N, {side}, {side}{', 3' if channels == 3 else ''}) with N >= 2; "
            "sample at the dataset's size or choose its data="
        )
    return torch.from_numpy(np.ascontiguousarray(as_uint8(array, path)))


def read_images(path: str | Path, channels: int, side: int) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] from ``path``: an .npz or a folder of image files."""
    path = Path(path).expanduser()
    if path.is_dir():
        files, _, _ = scan(path)
        reading = tqdm(files, desc=f"reading {path.name}", unit="img", disable=None)
        array = np.stack([decode(file, channels, side) for file in reading])
    elif path.is_file():
        array = read_npz(path)
    else:
        raise UserError(f"samples={path} not found: give an .npz or a folder of PNG images")
    return to_signed_unit(as_nchw(array, channels, side, path))
