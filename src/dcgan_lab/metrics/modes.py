"""Mode coverage of an unconditional generator, read by the run's domain classifier.

A generator that dropped a digit shows it in the class histogram of its images long before
FID moves much; a generator of blurry in-between shapes shows it in the share of images the
classifier names confidently (real held-out mnist5k digits: about 0.95).
"""

from __future__ import annotations

import math

import torch

CONFIDENT = 0.9  # top class probability of an image the classifier "recognises"


def class_coverage(logits: torch.Tensor) -> dict[str, float | list[float]]:
    """From class logits (N, C) of generated images:

    - ``class_histogram``: the share of images predicted as each class (C values);
    - ``class_entropy``: the histogram's entropy over log C (1: every class equally often,
      0: one class only);
    - ``recognisable``: the share of images whose top probability is >= 0.9;
    - ``class_share_min`` and ``class_share_max``: the rarest and the commonest class's share
      (a balanced generator of 10 classes: both near 0.1).
    """
    probabilities = logits.double().softmax(1)  # (N, C)
    num_classes = logits.shape[1]
    counts = torch.bincount(probabilities.argmax(1), minlength=num_classes).double()
    histogram = counts / counts.sum()
    seen = histogram[histogram > 0]
    entropy = float(-(seen * seen.log()).sum()) / math.log(num_classes) if num_classes > 1 else 0.0
    return {
        "class_histogram": histogram.tolist(),
        "class_entropy": entropy,
        "recognisable": float((probabilities.max(1).values >= CONFIDENT).double().mean()),
        "class_share_min": float(histogram.min()),
        "class_share_max": float(histogram.max()),
    }
