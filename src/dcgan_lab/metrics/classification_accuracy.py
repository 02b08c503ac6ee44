"""Classification Accuracy Score (Ravuri & Vinyals 2019; StudioGAN's GAN-train): a fresh
classifier trained on a conditional generator's labelled images alone, tested on the
held-out real images. Beside it, the same classifier trained the same way on as many real
training images: the gap is what the generated set lacks (wrong classes, missing modes,
too little variety) for learning the classes. GAN-test, the real-data classifier on the
generated images, is ``label_accuracy`` (``metrics/conditional.py``).
"""

from __future__ import annotations

import torch

from dcgan_lab.data.splits import ImageSplits
from dcgan_lab.metrics.extractor import train_classifier
from dcgan_lab.metrics.quality import fixed_inputs
from dcgan_lab.models.sampling import Sampler


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (N, C, H, W) -> uint8 in [0, 255], as datasets store them."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def generated_set(
    sample: Sampler, latent_dim: int, num_classes: int, n: int, seed: int, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` generated images (uint8 (n, C, H, W)) with the labels they were drawn for
    (n,), an equal share per class; the same images for the same seed."""
    noise, labels = fixed_inputs(n, latent_dim, num_classes, seed)
    assert labels is not None
    chunks = [
        to_uint8(sample(z, y).cpu())
        for z, y in zip(noise.split(batch_size), labels.split(batch_size), strict=True)
    ]
    return torch.cat(chunks), labels


def gan_train_accuracy(
    sample: Sampler,
    latent_dim: int,
    num_classes: int,
    splits: ImageSplits,
    steps: int,
    n: int = 5000,
    seed: int = 0,
) -> float:
    """Held-out real accuracy of a classifier trained ``steps`` batches on ``n`` generated
    images and the labels they were drawn for."""
    images, labels = generated_set(sample, latent_dim, num_classes, n, seed)
    on_generated = ImageSplits(images, labels, splits.val_images, splits.val_labels)
    what = "CAS classifier on generated images"
    return train_classifier(on_generated, steps, seed, what=what)[1]


def real_train_accuracy(splits: ImageSplits, steps: int, n: int, seed: int = 0) -> float:
    """The same on ``n`` real training images (a seeded choice)."""
    order = torch.randperm(len(splits.train_images), generator=torch.Generator().manual_seed(seed))
    chosen = order[:n]
    on_real = ImageSplits(splits.train_images[chosen], splits.train_labels[chosen],
                          splits.val_images, splits.val_labels)  # fmt: skip
    return train_classifier(on_real, steps, seed, what="CAS classifier on real images")[1]


def classification_accuracy_score(
    sample: Sampler,
    latent_dim: int,
    num_classes: int,
    splits: ImageSplits,
    steps: int,
    n: int = 5000,
    seed: int = 0,
) -> dict[str, float]:
    """``cas`` (``gan_train_accuracy``), ``cas_real`` (``real_train_accuracy`` on
    min(n, training split) images) and the image counts each was trained on."""
    n_real = min(n, len(splits.train_images))
    return {
        "cas": gan_train_accuracy(sample, latent_dim, num_classes, splits, steps, n, seed),
        "cas_real": real_train_accuracy(splits, steps, n_real, seed),
        "cas_n": float(n),
        "cas_n_real": float(n_real),
    }
