"""Scores of a conditional generator: does it draw the class it is asked for?

- label accuracy: the run's domain classifier's accuracy on generated images against the
  labels they were generated for;
- intra-class FID: the mean over classes of the FID between the generated images of a
  class and the held-out real images of that class (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch

from dcgan_lab.errors import UserError
from dcgan_lab.metrics.frechet import frechet_distance
from dcgan_lab.metrics.quality import SampleQuality, fixed_inputs
from dcgan_lab.models.sampling import Sampler


@torch.no_grad()
def conditional_scores(
    quality: SampleQuality,
    sample: Sampler,
    latent_dim: int,
    num_classes: int,
    device: torch.device,
    batch_size: int = 500,
) -> dict[str, float]:
    """``label_accuracy`` and ``intra_fid`` of ``n_fake`` images (an equal share per class)."""
    space = quality.space
    if not isinstance(space.features, torch.nn.Module) or not isinstance(
        space.logits, torch.nn.Module
    ):
        raise UserError("label accuracy and intra-class FID need metrics.features=classifier")
    if quality.real_labels is None or len(quality.real_labels) != quality.n_real:
        raise UserError("intra-class FID needs the labels of the real images")
    noise, labels = fixed_inputs(quality.n_fake, latent_dim, num_classes, quality.seed)
    assert labels is not None
    features, predicted = [], []
    for z, y in zip(noise.split(batch_size), labels.split(batch_size), strict=True):
        images = space.prepare(sample(z.to(device), y.to(device)))
        features.append(space.features(images).cpu())  # (B, F)
        predicted.append(space.logits(images).argmax(1).cpu())  # (B,)
    fake, fake_classes = torch.cat(features), labels
    real_classes = quality.real_labels.cpu()
    real = quality.real_features  # (n_real, F)
    per_class = [
        frechet_distance(fake[fake_classes == c], real[real_classes == c])
        for c in range(num_classes)
        if (fake_classes == c).sum() > 1 and (real_classes == c).sum() > 1
    ]
    return {
        "label_accuracy": float((torch.cat(predicted) == labels).float().mean()),
        "intra_fid": sum(per_class) / len(per_class) if per_class else float("nan"),
    }
