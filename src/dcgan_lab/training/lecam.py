"""LeCam regularisation (Tseng et al. 2021, "Regularizing Generative Adversarial Networks
under Limited Data"): D's logits on real images are pulled down towards a moving average of
its logits on fakes, and its logits on fakes up towards the average on real images,

    R = mean(relu(D(x) - a_fake)^2) + mean(relu(a_real - D(G(z)))^2),

which keeps D from drifting to extreme logits on a small training set. ``a_real`` and
``a_fake`` are exponential moving averages (decay 0.99, as the reference code) of D's mean
logit on each kind, updated with the step's own logits before the penalty."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("real", "fake")


class LeCamAnchors(nn.Module):
    """The two moving averages; buffers, so checkpoints keep them and a resume continues
    them exactly. Each starts at its first batch's mean (until then ``seen`` is false)."""

    real: torch.Tensor  # () D's mean logit on real images, averaged over D steps
    fake: torch.Tensor  # () the same on fakes
    seen: torch.Tensor  # (2,) bool: real, fake updated at least once

    def __init__(self, decay: float = 0.99) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("real", torch.zeros(()))
        self.register_buffer("fake", torch.zeros(()))
        self.register_buffer("seen", torch.zeros(2, dtype=torch.bool))

    @torch.no_grad()
    def update(self, kind: str, logits: torch.Tensor) -> None:
        """Moves ``kind``'s average towards the mean of this step's logits (B,), on the
        device (no host read)."""
        anchor, index = getattr(self, kind), KINDS.index(kind)
        mean = logits.detach().float().mean()
        moved = torch.lerp(anchor, mean, 1.0 - self.decay)
        anchor.copy_(torch.where(self.seen[index], moved, mean))
        self.seen[index] = True

    def penalty(self, kind: str, logits: torch.Tensor) -> torch.Tensor:
        """The regulariser's term for ``kind``'s logits (B,): real ones above the fake
        average, fake ones below the real average, squared."""
        if kind == "real":
            return F.relu(logits - self.fake).pow(2).mean()
        return F.relu(self.real - logits).pow(2).mean()
