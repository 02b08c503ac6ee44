"""Image arrays in any common layout -> uint8 (N, C, H, W), and resizing to the config's shape."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dcgan_lab.errors import UserError

CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA
LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 weights, as PIL's convert("L")


def to_nchw(images: np.ndarray, what: str = "the image array") -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) -> contiguous uint8 (N, C, H, W).

    The channel axis is the one of size 1, 3 or 4 whose other two axes are the image; an
    array where both readings fit (e.g. (N, 3, 4, 3)) is refused rather than guessed.
    """
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4:
        first = images.shape[1] in CHANNEL_COUNTS
        last = images.shape[3] in CHANNEL_COUNTS
        if first and last:  # both fit: take the reading whose image is square, if just one is
            first = images.shape[2] == images.shape[3]
            last = images.shape[1] == images.shape[2]
        if first == last:
            raise UserError(
                f"{what} has shape {images.shape}: cannot tell its channel axis; "
                "store images as (N, H, W), (N, H, W, C) or (N, C, H, W) with C in 1, 3, 4"
            )
        if last:
            images = images.transpose(0, 3, 1, 2)
    else:
        raise UserError(
            f"{what} has shape {images.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W)"
        )
    return np.ascontiguousarray(to_uint8(images, what))


def to_uint8(images: np.ndarray, what: str) -> np.ndarray:
    """uint8 as is; other integers in 0..255 and floats in [0, 1] are converted."""
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    low, high = float(images.min()), float(images.max())
    if np.issubdtype(images.dtype, np.integer) and low >= 0 and high <= 255:
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        return np.round(images * 255).astype(np.uint8)
    raise UserError(
        f"{what} holds {images.dtype} values in [{low:g}, {high:g}]; "
        "use uint8 0..255 or floats in [0, 1]"
    )


def conform(images: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): grey <-> RGB, alpha dropped,
    centre-cropped to a square, then resized with antialiasing."""
    _, c, h, w = images.shape
    x = images
    if c == 4:
        x, c = x[:, :3], 3  # RGBA -> RGB: the alpha channel is not part of the picture
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, :, top : top + side, left : left + side]
    if (c, x.shape[2]) == (channels, size):
        return x.contiguous()
    out = []
    for chunk in x.split(1024):  # (n, c, s, s) float in batches: bounded memory
        f = chunk.float()
        if c == 3 and channels == 1:
            f = (f * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif c == 1 and channels == 3:
            f = f.expand(-1, 3, -1, -1)
        elif c != channels:
            raise UserError(f"cannot turn {c}-channel images into data.channels={channels}")
        if f.shape[2] != size:
            f = F.interpolate(f, size=(size, size), mode="bilinear", antialias=True)
        out.append(f.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out) if out else x.new_empty((0, channels, size, size))
