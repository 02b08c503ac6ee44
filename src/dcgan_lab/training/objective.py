"""D's and G's objectives for one batch: augmentation (fixed and adaptive), the GAN loss,
R1, the gradient penalty, ACGAN's class term, LeCam, consistency, top-k and mode seeking.
The maths only: the module zeroes, backpropagates and steps the optimizers around these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from dcgan_lab.models.base import Discriminator
from dcgan_lab.training.ada import AdaptiveAugment
from dcgan_lab.training.augment import DiffAugment
from dcgan_lab.training.consistency import ConsistencySettings, bcr_transform
from dcgan_lab.training.lecam import LeCamAnchors
from dcgan_lab.training.losses import GANLoss, gradient_penalty, r1_penalty
from dcgan_lab.training.mode_seeking import ModeSeekingSettings, Twins
from dcgan_lab.training.topk import TopKSettings

Scores = tuple[torch.Tensor, torch.Tensor | None]  # D's logits (B,), ACGAN class logits (B, K)


class AdversarialObjective:
    """The losses of a discriminator (with ACGAN's ``aux_classifier``, if any) under
    ``loss``, on images through DiffAugment when ``augment`` is on and adaptive augmentation
    when ``ada`` is, with LeCam's penalty when ``lecam`` (its moving averages) is given,
    ``consistency``'s terms, ``topk``'s choice of fakes for G and ``mode_seeking``'s term
    in G's loss. Holds references, not copies: the module owns (and checkpoints) every
    network and buffer."""

    def __init__(
        self,
        discriminator: Discriminator,
        loss: GANLoss,
        augment: DiffAugment | None,
        aux_classifier: nn.Linear | None,
        lecam: LeCamAnchors | None = None,
        ada: AdaptiveAugment | None = None,
        consistency: ConsistencySettings | None = None,
        topk: TopKSettings | None = None,
        mode_seeking: ModeSeekingSettings | None = None,
    ) -> None:
        self.discriminator, self.loss = discriminator, loss
        self.augment, self.aux_classifier, self.lecam = augment, aux_classifier, lecam
        self.ada, self.topk = ada, topk or TopKSettings()
        self.mode_seeking = mode_seeking or ModeSeekingSettings()
        self.consistency = consistency or ConsistencySettings()

    @property
    def critic_is_plain(self) -> bool:
        """True when ``critic`` is D alone on the raw images, each on its own: no
        augmentation, no ACGAN head, no BatchNorm or minibatch spread. Then D's pass over a
        larger batch holding the images gives their logits too (only dropout's masks are
        drawn in another order)."""
        plain = self.augment is None and self.ada is None and self.aux_classifier is None
        return plain and self.discriminator.batch_independent

    def critic(self, images: torch.Tensor, labels: torch.Tensor | None) -> Scores:
        """D's logits (B,) on images (B, C, H, W), and the auxiliary classifier's class
        logits (B, classes) with ACGAN (else None)."""
        images = self.augment(images) if self.augment else images
        images = self.ada(images) if self.ada is not None else images
        if self.aux_classifier is None:
            return self.discriminator(images, labels), None
        features = self.discriminator.feature_map(images)  # (B, C, h, w)
        classes = self.aux_classifier(self.discriminator.pooled(features))  # (B, classes)
        return self.discriminator.logits(features, labels), classes

    def critic_each(
        self, batches: dict[str, torch.Tensor], labels: torch.Tensor | None, joined: bool
    ) -> dict[str, Scores]:
        """``critic`` on each named batch (B, C, H, W); ``joined``: as one pass, which at
        small batches costs less than a pass per batch (the per-layer overhead is paid
        once). Only for a D that treats every image on its own (``batch_independent``: no
        BatchNorm): the logits are those of separate passes; only the random draws (dropout
        masks, DiffAugment) come in another order, and spectral norm refines its estimate
        once per D step instead of once per pass."""
        if len(batches) == 1 or not joined:
            return {kind: self.critic(x, labels) for kind, x in batches.items()}
        both = torch.cat(list(batches.values()))  # (n*B, C, H, W)
        repeated = None if labels is None else labels.repeat(len(batches))  # (n*B,)
        logits, classes = self.critic(both, repeated)  # (n*B,), (n*B, classes) | None
        sizes = [len(x) for x in batches.values()]
        split_classes = classes.split(sizes) if classes is not None else [None] * len(sizes)
        pairs = zip(logits.split(sizes), split_classes, strict=True)
        return dict(zip(batches, pairs, strict=True))

    def discriminator_loss(
        self,
        real: torch.Tensor | None,
        fake: torch.Tensor | None,
        labels: torch.Tensor | None,
        batch_idx: int,
        near: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss on real and detached fake images (B, C, H, W), and D's mean belief in
        each (``train/d_real``, ``train/d_fake``). Either batch may be None:
        ``step=keras`` updates D on each alone. ``near``: zCR's detached fakes from the
        nearby latents (B, C, H, W)."""
        r1_weight = self.loss.r1_weight_at(batch_idx) if real is not None else 0.0
        if r1_weight and real is not None:
            real = real.detach().requires_grad_(True)  # R1 differentiates D by x
        batches = {kind: x for kind, x in (("real", real), ("fake", fake)) if x is not None}
        parts: list[torch.Tensor] = []
        stats: dict[str, torch.Tensor] = {}
        # One pass over real and fake together, except with R1: its double backward through
        # the doubled batch costs more than the joined pass saves (measured at batch 32).
        joined = self.discriminator.batch_independent and not r1_weight
        scores = self.critic_each(batches, labels, joined)
        if self.lecam is not None:  # both averages move before either penalty (as LeCam's code)
            for kind, (logits, _) in scores.items():
                self.lecam.update(kind, logits)
        if self.ada is not None and "real" in scores:
            self.ada.observe(scores["real"][0])
            stats["train/aug_p"], stats["train/ada_rt"] = (
                self.ada.p.clone(),
                self.ada.signal.clone(),
            )
        bcr, zcr = self.consistency.bcr_weight, self.consistency.zcr_weight
        for kind, (logits, classes) in scores.items():
            part = getattr(self.loss, f"discriminator_{kind}")(logits)
            if self.lecam is not None:
                part = part + self.loss.lecam_weight * self.lecam.penalty(kind, logits)
            if kind == "real" and r1_weight:
                part = part + 0.5 * r1_weight * r1_penalty(logits, batches["real"])
            if classes is not None and labels is not None:  # ACGAN: D classifies both
                part = part + self.loss.ac_weight * F.cross_entropy(classes, labels)
            if bcr:  # bCR: the same score for a shifted copy
                shifted, _ = self.critic(bcr_transform(batches[kind]), labels)
                part = part + bcr * F.mse_loss(logits, shifted)
            if kind == "fake" and zcr and near is not None:  # zCR: a nearby z scores alike
                near_logits, _ = self.critic(near, labels)
                part = part + zcr * F.mse_loss(logits, near_logits)
            parts.append(part)
            stats[f"train/d_{kind}"] = torch.sigmoid(logits.detach()).mean()
        d_loss = torch.stack(parts).sum()
        if self.loss.gp_weight and real is not None and fake is not None:
            d = self.discriminator
            critic = d if labels is None else lambda x: d(x, labels)
            d_loss = d_loss + self.loss.gp_weight * gradient_penalty(critic, real, fake)
        return d_loss, stats

    def generator_loss(
        self,
        fake: torch.Tensor,
        labels: torch.Tensor | None,
        epoch: int = 0,
        near: torch.Tensor | None = None,
        twins: Twins | None = None,
        progress: float = 0.0,
    ) -> torch.Tensor:
        """G's loss through D (e.g. non-saturating BCE: fake labelled real) on fakes
        (B, C, H, W), over top-k's share of them at ``epoch``; ``near``: zCR's fakes from
        nearby latents, which G is pushed away from; ``twins``: mode seeking's fakes from
        other latents with the same labels, which D does not score, its weight at
        ``progress`` (0..1) of the run. Call it, and backpropagate, inside
        ``frozen(discriminator, aux_classifier)``."""
        seeking = bool(self.mode_seeking.weight)
        both = None  # D's last feature maps of [fakes, twins] (2B, C, h, w), one pass
        if twins is not None and seeking and self.mode_seeking.space == "discriminator":
            both = self.discriminator.feature_map(torch.cat([fake, twins.images]))
        if both is not None and self.critic_is_plain:
            # the fakes' half of that pass is what ``critic`` would compute: no second pass
            logits, classes = self.discriminator.logits(both[: len(fake)], labels), None
        else:
            logits, classes = self.critic(fake, labels)
        g_loss = self.loss.generator(self.topk.kept(logits, epoch))
        if near is not None and self.consistency.zcr_generator_weight:
            g_loss = g_loss - self.consistency.zcr_generator_weight * F.mse_loss(fake, near)
        if twins is not None and seeking:
            compared = fake
            if both is not None:
                compared, twin_features = both.chunk(2)  # (B, C, h, w) each
                twins = twins._replace(images=twin_features)
            g_loss = g_loss + self.mode_seeking.penalty(compared, twins, progress)
        if classes is not None and labels is not None:  # ACGAN: fakes D can classify
            g_loss = g_loss + self.loss.ac_weight * F.cross_entropy(classes, labels)
        return g_loss


@contextmanager
def frozen(*networks: nn.Module | None) -> Iterator[None]:
    """The networks' parameters without gradients inside the block (their requires_grad
    restored after). G's step freezes D this way; D's step needs nothing frozen, as G's
    fakes reach it detached. (Lightning's toggle_optimizer does both, over every optimizer's
    parameters, twice a step.)"""
    params = [p for net in networks if net is not None for p in net.parameters()]
    saved = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, saved, strict=True):
            p.requires_grad_(flag)
