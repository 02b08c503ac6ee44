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


def as_nchw(array: np.ndarray, channels: int, side: int, path: Path) -> torch.Tensor:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) uint8 (or floats in [0, 255]) -> (N, C, H, W)."""
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
    if not np.issubdtype(array.dtype, np.number) or array.min() < 0 or array.max() > 255:
        raise UserError(f"{path}: pixel values must be in 0..255 (uint8), as dcgan-sample writes")
    return torch.from_numpy(np.ascontiguousarray(array))


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
