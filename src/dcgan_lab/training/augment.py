"""DiffAugment-style differentiable augmentation, applied to every image D sees.

Real and fake batches get the same kinds of random transform in both the D and the G
step, so D cannot tell them apart by the augmentation and G receives gradients through
it (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training").
Images are (B, C, H, W) in [-1, 1]; uncovered pixels take the background value -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dcgan_lab.errors import UserError

BACKGROUND = -1.0


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    scale = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return (x - mean) * scale + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side (whole pixels)."""
    b, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = torch.randint(-max_y, max_y + 1, (b, 1, 1), device=x.device)
    shift_x = torch.randint(-max_x, max_x + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into a copy padded by one background pixel: out-of-range reads hit the pad.
    src_y = (rows + shift_y + 1).clamp(0, h + 1)  # (B, H, 1)
    src_x = (cols + shift_x + 1).clamp(0, w + 1)  # (B, 1, W)
    padded = F.pad(x, [1, 1, 1, 1], value=BACKGROUND)  # (B, C, H+2, W+2)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, src_y, src_x].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Blank one square of ``ratio`` x side per image, at a random place."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h - size_y + 1, (b, 1, 1), device=x.device)
    left = torch.randint(0, w - size_x + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return torch.where(inside.unsqueeze(1), torch.full_like(x, BACKGROUND), x)


TRANSFORMS = {
    "brightness": brightness,
    "contrast": contrast,
    "translation": translation,
    "cutout": cutout,
}


class DiffAugment:
    """Applies the transforms named in ``policy`` in that order.

    ``policy``: a list (``model.augment=[translation,cutout]`` on the command line) or a
    comma-separated string.
    """

    def __init__(self, policy: str | Sequence[str]) -> None:
        parts = policy.split(",") if isinstance(policy, str) else list(policy)
        names = [str(name).strip() for name in parts if str(name).strip()]
        unknown = [name for name in names if name not in TRANSFORMS]
        if unknown or not names:
            raise UserError(
                f"model.augment={policy!r}: choose a list of {', '.join(TRANSFORMS)} "
                "(e.g. model.augment=[translation,cutout]) or null for none"
            )
        self.transforms = [TRANSFORMS[name] for name in names]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            images = transform(images)
        return images
