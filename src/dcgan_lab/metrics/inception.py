"""The classic variant: torchmetrics' own InceptionV3 (torch-fidelity weights).

Its weights come from the network on first use. Offline, without a cached copy, this
fails at once with one line instead of hanging in a download.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import torch

from dcgan_lab.errors import UserError
from dcgan_lab.metrics.quality import FeatureSpace

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_HOST = ("github.com", 443)


def weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def can_download(timeout_s: float = 3.0) -> bool:
    try:
        with socket.create_connection(WEIGHTS_HOST, timeout=timeout_s):
            return True
    except OSError:
        return False


def inception_space() -> FeatureSpace:
    """FID/KID on the 2048-d pool features, IS on the logits; grey images repeated to RGB."""
    if importlib.util.find_spec("torch_fidelity") is None:
        raise UserError(
            "metrics.features=inception needs torch-fidelity (and torchvision): "
            "pip install torch-fidelity, or use metrics.features=classifier"
        )
    if not weights_path().is_file() and not can_download():
        raise UserError(
            f"InceptionV3 weights are not cached ({weights_path()}) and cannot be downloaded "
            f"offline; put {WEIGHTS_FILE} there or use metrics.features=classifier"
        )

    def to_unit_rgb(images: torch.Tensor) -> torch.Tensor:
        # (B, 1, H, W) in [-1, 1] -> (B, 3, H, W) in [0, 1]; torchmetrics resizes to 299.
        rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        return (rgb + 1) / 2

    return FeatureSpace(
        features=2048, logits="logits_unbiased", prepare=to_unit_rgb, normalize=True
    )
