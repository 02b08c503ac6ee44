"""A small convolutional autoencoder whose 128-d code is the FID space of unlabelled data."""

from __future__ import annotations

import torch
from torch import nn

from dcgan_lab.metrics.encoder import ConvEncoder


class FeatureAutoencoder(ConvEncoder):
    """The shared encoder (``ConvEncoder``, as the classifier's); a mirror-image decoder.

    Trained to reconstruct the images, its code keeps what tells images apart without
    needing labels. ``features`` is the code (B, 128); there are no class logits, so no IS.
    """

    def __init__(self, channels: int = 1, image_size: int = 28) -> None:
        super().__init__(channels, image_size)
        self.decode = nn.Sequential(
            nn.Linear(self.num_features, 32 * self.side * self.side),
            nn.Unflatten(1, (32, self.side, self.side)),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),  # (B, 16, H/2, W/2)
            nn.ReLU(),
            nn.ConvTranspose2d(16, channels, 4, stride=2, padding=1),  # (B, C, H', W')
        )
        self.image_size = image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction (B, C, H, W) in [-1, 1] (padded back when H is not divisible by 4)."""
        out = torch.tanh(self.decode(self.features(images)))
        pad = self.image_size - out.shape[-1]
        return nn.functional.pad(out, (0, pad, 0, pad), value=-1.0) if pad else out
