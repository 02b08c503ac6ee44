"""A small CNN digit/garment classifier whose penultimate layer is the FID feature space."""

from __future__ import annotations

import torch
from torch import nn

from dcgan_lab.metrics.encoder import ConvEncoder


class DomainClassifier(ConvEncoder):
    """(conv3x3 -> BN -> ReLU) x 2 -> pool, twice, then a 128-d feature layer and logits.

    ``features`` returns the 128-d layer before its ReLU (closer to Gaussian, as FID
    assumes); ``forward`` returns class logits for the Inception Score.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, num_classes: int = 10) -> None:
        super().__init__(channels, image_size)
        self.num_classes = num_classes
        self.head = nn.Sequential(
            nn.ReLU(), nn.Dropout(0.3), nn.Linear(self.num_features, num_classes)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))  # (B, num_classes) logits


class FrozenView(nn.Module):
    """The classifier frozen in eval mode, exposing features or logits to torchmetrics.

    ``train()`` is a no-op, so the extractor stays in eval mode whatever mode the module
    holding it is put in (BatchNorm and dropout must not change the scores).
    """

    def __init__(self, classifier: ConvEncoder, output: str) -> None:
        super().__init__()
        if output not in ("features", "logits"):
            raise ValueError(f"output must be 'features' or 'logits', not {output!r}")
        self.classifier = classifier.eval().requires_grad_(False)
        self.output = output
        # torchmetrics reads num_features instead of probing with a dummy image.
        self.num_features = classifier.num_features
        if output == "logits":
            if not isinstance(classifier, DomainClassifier):
                raise ValueError("only a classifier has class logits")
            self.num_features = classifier.num_classes

        # FID, KID and the set scores each pass the same batch to this one view: the last
        # batch's output is reused for the same tensor object (an identity check, no hash).
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def train(self, mode: bool = True) -> FrozenView:
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self._last is not None and self._last[0] is images:
            return self._last[1]
        x = images.float()
        out = self.classifier.features(x) if self.output == "features" else self.classifier(x)
        self._last = (images, out)
        return out
