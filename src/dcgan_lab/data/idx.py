"""Reader for the IDX format used by MNIST and Fashion-MNIST (plain or gzipped).

Format: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte with the number of
dimensions, then one big-endian uint32 per dimension, then the data.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from dcgan_lab.errors import UserError

UBYTE = 0x08


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX array with ``ndim`` dimensions; UserError if it is malformed."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"missing data file {path}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise UserError(f"cannot read {path} ({err}); replace it with a good copy") from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise UserError(f"{path} is truncated ({len(raw)} bytes); replace it with a good copy")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims != ndim:
        raise UserError(
            f"{path} is not an IDX file of {ndim}-D unsigned bytes (bad magic number "
            f"0x{raw[:4].hex()}); check the file name or replace it"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = math.prod(shape)  # Python ints: absurd headers cannot overflow
    if len(raw) - header_size != expected:
        raise UserError(
            f"{path} holds {len(raw) - header_size} data bytes but its header {shape} needs "
            f"{expected}; the file is truncated or corrupt, replace it"
        )
    # A copy: frombuffer's view of ``raw`` is read-only, and torch wants writable arrays.
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,), checked against each other."""
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if len(images) != len(labels):
        raise UserError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} "
            "labels; the two files do not belong together"
        )
    return images, labels
