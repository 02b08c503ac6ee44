"""The LightningModule: adversarial training with manual optimization (D step, then G step).

The networks are built elsewhere (``conf/model/<architecture>.yaml``) and handed in; this
module owns what training adds to them: losses, optimizers, EMA, sampling and scoring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.core.optimizer import LightningOptimizer
from torch import nn
from torch.optim import Optimizer

from dcgan_lab.errors import TrainingDiverged, UserError
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models.base import Discriminator, Generator, from_spec
from dcgan_lab.models.checks import require_choice
from dcgan_lab.models.sampling import (
    STANDING,
    Sampler,
    StandingStatistics,
    generate,
    require_bn_mode,
)
from dcgan_lab.runs.checkpoints import (
    STANDING_KEY,
    fill_optional_state,
    fold_norm_biases,
    require_same_architecture,
    upgrade_checkpoint,
)
from dcgan_lab.runs.time_budget import budget_timer
from dcgan_lab.training.augment import DiffAugment
from dcgan_lab.training.ema import ema_of
from dcgan_lab.training.losses import GANLoss, gradient_penalty, loss_spec, r1_penalty
from dcgan_lab.training.progress import logs_this_step

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], Optimizer]
Batch = tuple[torch.Tensor, torch.Tensor]  # images (B, C, H, W) in [-1, 1], labels (B,)


class DCGANModule(pl.LightningModule):
    """A generator and a discriminator trained adversarially on D's logits.

    ``g_optimizer`` / ``d_optimizer`` are optimizer factories (Hydra partials) that take the
    parameters; they are only needed for training. ``conditional``: G and D see the labels
    (the networks must be built conditional; conf/model/*.yaml pass the switch on). Speed
    switches (same maths, same checkpoints): ``compile`` (``torch.compile``), ``channels_last``
    (NHWC). Quality switches (docs/results.md): ``augment`` (DiffAugment policy),
    ``ema_decay`` / ``ema_warmup`` / ``ema_span`` (an EMA generator, scored beside G),
    ``bn_sampling`` (BatchNorm statistics when sampling). ``step``: ``joint`` (one D update
    on real and fake together, G's fakes reused for its update) or ``keras`` (Keras'
    ``train_on_batch`` sequence: D on real, D on fakes from G in inference mode, then G; see
    ``_keras_step``).
    """

    fixed_noise: torch.Tensor  # buffers, registered in __init__
    fixed_labels: torch.Tensor | None
    fid_best: torch.Tensor
    use_ema: torch.Tensor

    def __init__(
        self,
        generator: Generator | Mapping[str, Any],
        discriminator: Discriminator | Mapping[str, Any],
        g_optimizer: OptimizerFactory | None = None,
        d_optimizer: OptimizerFactory | None = None,
        loss: GANLoss | Mapping[str, Any] | None = None,
        conditional: bool = False,
        n_fixed_samples: int = 64,
        compile: bool = False,
        channels_last: bool = False,
        augment: str | Sequence[str] | None = None,
        ema_decay: float = 0.0,
        ema_warmup: int = 0,
        ema_span: float = 0.0,
        bn_sampling: str = "standing",
        step: str = "joint",
        score_raw: str = "always",
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters(
            ignore=["generator", "discriminator", "g_optimizer", "d_optimizer", "loss"]
        )
        # Built networks, or the nodes a checkpoint saved (``load_from_checkpoint``).
        generator = from_spec(generator, Generator)
        discriminator = from_spec(discriminator, Discriminator)
        self.loss = from_spec(loss, GANLoss) if loss is not None else GANLoss()
        # How to rebuild the networks and the loss: checkpoints are self-contained.
        self.hparams.update(
            generator=generator.spec(),
            discriminator=discriminator.spec(),
            loss=loss_spec(self.loss),
        )
        require_bn_mode("bn_sampling", bn_sampling)
        require_step(step, self.loss)
        require_choice("score_raw", score_raw, SCORE_RAW)
        self.num_classes = require_conditioning(conditional, generator, discriminator)
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer
        # ACGAN: an auxiliary classifier on D's features, trained with D (Odena et al. 2017).
        self.aux_classifier: nn.Linear | None = None
        if self.loss.ac_weight:
            if not self.num_classes:
                raise UserError("loss=acgan needs a conditional model: add model.conditional=true")
            self.aux_classifier = nn.Linear(discriminator.pooled_dim, self.num_classes)
        self.augment = DiffAugment(augment) if augment else None
        # The generator's moving average (None: off); sampled and scored beside the raw G.
        self.generator_ema = (
            ema_of(generator, ema_decay, ema_warmup, ema_span) if ema_decay else None
        )
        # Which generator sample() uses: the EMA one while it scores better (or, before any
        # score, whenever there is one). A buffer, so checkpoints keep the choice.
        self.register_buffer("use_ema", torch.tensor(self.generator_ema is not None))
        # Validations in a row that scored the EMA generator ahead: from EMA_LEADS_NEEDED on,
        # score_raw=until_ema_leads scores it alone (half the scoring time). Not saved: a
        # resumed run scores both again until the EMA leads as often.
        self.ema_leads_in_a_row = 0
        self.register_fixed_inputs(n_fixed_samples)
        # FID-style scorer, attached after construction (it needs the data and a trained
        # extractor); None: no scores. The best FID so far is checkpointed state.
        self.quality: SampleQuality | None = None
        self.register_buffer("fid_best", torch.tensor(float("inf")))
        # Divergence check (``_stop_if_diverged``): a non-finite loss since the last check.
        self.nonfinite: torch.Tensor | None = None
        self.last_losses: dict[str, torch.Tensor] = {}

    def register_fixed_inputs(self, n: int) -> None:
        """Noise (and labels) for comparable sample grids across epochs; buffers, so they
        follow the device and live in checkpoints. Conditional: one row per class, the
        columns sharing their noise, so a row shows one class in sqrt(n) styles."""
        if not self.num_classes:
            self.register_buffer("fixed_noise", torch.randn(n, self.latent_dim))  # (n, Z)
            self.register_buffer("fixed_labels", None)
            return
        columns = max(1, math.isqrt(n))
        noise = torch.randn(columns, self.latent_dim).repeat(self.num_classes, 1)  # (C*cols, Z)
        self.register_buffer("fixed_noise", noise)
        self.register_buffer(
            "fixed_labels", torch.arange(self.num_classes).repeat_interleave(columns)
        )

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    @property
    def grid_columns(self) -> int | None:
        """Columns of the fixed grid when they mean something (conditional: per class)."""
        return len(self.fixed_noise) // self.num_classes if self.num_classes else None

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, labels)

    def configure_model(self) -> None:
        if self.hparams["channels_last"]:
            self.to(memory_format=torch.channels_last)  # only 4-D conv weights change
        if self.hparams["compile"]:
            # In place (nn.Module.compile): parameter names and checkpoints stay the same.
            self.generator.compile()
            self.discriminator.compile()

    def configure_optimizers(self) -> list[Optimizer]:
        if self.g_optimizer_factory is None or self.d_optimizer_factory is None:
            raise UserError("training needs model.g_optimizer and model.d_optimizer in the config")
        d_params = list(self.discriminator.parameters())
        if self.aux_classifier is not None:
            d_params += list(self.aux_classifier.parameters())
        return [
            self.g_optimizer_factory(self.generator.parameters()),
            self.d_optimizer_factory(d_params),
        ]

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real, labels = batch  # (B, C, H, W) in [-1, 1], (B,)
        if self.hparams["channels_last"]:
            real = real.contiguous(memory_format=torch.channels_last)
        cond = labels if self.num_classes else None  # fakes get the batch's labels
        opt_g, opt_d = cast(list[LightningOptimizer], self.optimizers())
        z = self.draw_noise(real.shape[0])  # (B, Z)
        train_g = (batch_idx + 1) % self.loss.n_critic == 0  # WGAN-GP: n_critic D steps per G
        if self.hparams["step"] == "keras":
            stats = self._keras_step(opt_d, real, z, cond, batch_idx)
        else:
            with torch.set_grad_enabled(train_g):
                fake = self.generator(z, cond)  # (B, C, H, W); reused by the G step
            stats = self._discriminator_step(opt_d, real, fake.detach(), cond, batch_idx)
        if train_g:
            if self.hparams["step"] == "keras":
                # gan.train_on_batch(noise, true): G in training mode (batch statistics) on
                # the noise D's fakes came from, through D with its dropout on.
                fake = self.generator(z, cond)
            stats["train/g_loss"] = self._generator_step(opt_g, fake, cond)
            if self.generator_ema is not None:
                self.generator_ema.update_parameters(self.generator, self._progress())
        self._stop_if_diverged(stats)
        if self._logs_this_step():
            self.log_dict(stats, prog_bar=True)

    def draw_noise(self, n: int) -> torch.Tensor:
        """The training step's latent batch (n, Z) ~ N(0, 1); tests feed their own."""
        return torch.randn(n, self.latent_dim, device=self.device)

    def _keras_step(
        self,
        opt_d: LightningOptimizer,
        real: torch.Tensor,
        z: torch.Tensor,
        labels: torch.Tensor | None,
        batch_idx: int,
    ) -> dict[str, torch.Tensor]:
        """The Keras recipe's two D updates: ``train_on_batch`` on the real batch, then on
        ``generator.predict(noise)`` (inference mode: BatchNorm's moving statistics, no
        gradient). ``train/d_loss`` is their mean, as the recipe reports it."""
        real_stats = self._discriminator_step(opt_d, real, None, labels, batch_idx)
        fake = generate(self.generator, z, labels, bn="running")  # (B, C, H, W)
        stats = self._discriminator_step(opt_d, None, fake, labels, batch_idx)
        stats["train/d_loss"] = 0.5 * (real_stats["train/d_loss"] + stats["train/d_loss"])
        stats["train/d_real"] = real_stats["train/d_real"]
        return stats

    def _critic(
        self, images: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits (B,) on images (B, C, H, W), through DiffAugment when it is on, and
        the auxiliary classifier's class logits (B, classes) with ACGAN (else None)."""
        images = self.augment(images) if self.augment else images
        if self.aux_classifier is None:
            return self.discriminator(images, labels), None
        features = self.discriminator.feature_map(images)  # (B, C, h, w)
        classes = self.aux_classifier(self.discriminator.pooled(features))  # (B, classes)
        return self.discriminator.logits(features, labels), classes

    def _critic_each(
        self, batches: dict[str, torch.Tensor], labels: torch.Tensor | None, joined: bool
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
        """``_critic`` on each named batch (B, C, H, W); ``joined``: as one pass, which at
        small batches costs less than a pass per batch (the per-layer overhead is paid
        once). Only for a D that treats every image on its own (``batch_independent``: no
        BatchNorm): the logits are those of separate passes; only the random draws (dropout
        masks, DiffAugment) come in another order, and spectral norm refines its estimate
        once per D step instead of once per pass."""
        if len(batches) == 1 or not joined:
            return {kind: self._critic(x, labels) for kind, x in batches.items()}
        both = torch.cat(list(batches.values()))  # (n*B, C, H, W)
        repeated = None if labels is None else labels.repeat(len(batches))  # (n*B,)
        logits, classes = self._critic(both, repeated)  # (n*B,), (n*B, classes) | None
        sizes = [len(x) for x in batches.values()]
        split_classes = classes.split(sizes) if classes is not None else [None] * len(sizes)
        pairs = zip(logits.split(sizes), split_classes, strict=True)
        return dict(zip(batches, pairs, strict=True))

    def _stop_if_diverged(self, stats: dict[str, torch.Tensor]) -> None:
        """Stops the run on a non-finite loss; a NaN is never saved in a checkpoint.

        The flag stays on the device and is read on the host every step on the CPU (where
        that is free) and elsewhere only on logging steps, at epoch ends and before any
        checkpoint save (``on_save_checkpoint``): a per-step host sync would stall a GPU.
        """
        losses: dict[str, torch.Tensor] = {
            name: stats[name] for name in ("train/d_loss", "train/g_loss") if name in stats
        }
        finite = torch.stack(list(losses.values())).isfinite().all()
        self.nonfinite = ~finite if self.nonfinite is None else self.nonfinite | ~finite
        self.last_losses = losses
        if self._host_reads_are_free() or self._logs_this_step():
            self._raise_if_diverged()

    def _host_reads_are_free(self) -> bool:
        """On the CPU reading a tensor's value costs no device sync."""
        return self.device.type == "cpu"

    def _raise_if_diverged(self) -> None:
        if self.nonfinite is None or not bool(self.nonfinite):
            return
        values = ", ".join(f"{name}={float(v):.4g}" for name, v in self.last_losses.items())
        raise TrainingDiverged(
            f"training diverged at step {self.global_step}: {values}; the last good "
            "checkpoint is kept (lower the learning rates to continue)"
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._raise_if_diverged()  # before anything is written
        # The statistics standing-mode sampling used for these weights, so that a checkpoint
        # samples as the run scored it; the key marks checkpoints that know this mode.
        checkpoint[STANDING_KEY] = {
            name: STANDING.get(net).to_state()
            for name, net in self._generators().items()
            if self.hparams["bn_sampling"] == "standing"
        }

    def _generators(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = {"generator": self.generator}
        if self.generator_ema is not None:
            nets["generator_ema"] = self.generator_ema.module
        return nets

    def on_train_epoch_end(self) -> None:
        # Runs before the checkpoint callbacks: a non-finite weight is never saved.
        self._raise_if_diverged()
        bad = [name for name, p in self.named_parameters() if not torch.isfinite(p).all()]
        if bad:
            raise TrainingDiverged(
                f"training diverged by step {self.global_step}: non-finite weights in {bad[0]}; "
                "the last good checkpoint is kept (lower the learning rates to continue)"
            )
        if self.trainer.world_size > 1:
            self.log("train/replica_drift", self._replica_drift(), sync_dist=True)

    def _replica_drift(self) -> torch.Tensor:
        """Spread over DDP ranks of a weight checksum: 0 while they step in lockstep."""
        weights = torch.cat([p.detach().double().flatten() for p in self.parameters()])
        checksum = torch.stack([weights.sum(), weights.square().sum()])  # (2,)
        gathered = cast(torch.Tensor, self.all_gather(checksum))  # (world_size, 2)
        return (gathered.max(dim=0).values - gathered.min(dim=0).values).max()

    def _logs_this_step(self) -> bool:
        """True on the steps whose values Lightning writes (every ``log_every_n_steps``).

        Each ``self.log`` walks Lightning's whole result collection; skipping the steps
        whose values would be dropped anyway halves the step time of small models on GPU.
        """
        return logs_this_step(self.trainer)

    def _discriminator_step(
        self,
        opt_d: LightningOptimizer,
        real: torch.Tensor | None,
        fake: torch.Tensor | None,
        labels: torch.Tensor | None,
        batch_idx: int,
    ) -> dict[str, torch.Tensor]:
        """One D update on real and detached fake images (B, C, H, W) (no G gradients). Either
        batch may be None: ``step=keras`` updates D on each alone."""
        r1_weight = self.loss.r1_weight_at(batch_idx) if real is not None else 0.0
        if r1_weight and real is not None:
            real = real.detach().requires_grad_(True)  # R1 differentiates D by x
        batches = {kind: x for kind, x in (("real", real), ("fake", fake)) if x is not None}
        parts: list[torch.Tensor] = []
        stats: dict[str, torch.Tensor] = {}
        # One pass over real and fake together, except with R1: its double backward through
        # the doubled batch costs more than the joined pass saves (measured at batch 32).
        joined = self.discriminator.batch_independent and not r1_weight
        for kind, (logits, classes) in self._critic_each(batches, labels, joined).items():
            part = getattr(self.loss, f"discriminator_{kind}")(logits)
            if kind == "real" and r1_weight:
                part = part + 0.5 * r1_weight * r1_penalty(logits, batches["real"])
            if classes is not None and labels is not None:  # ACGAN: D classifies both
                part = part + self.loss.ac_weight * F.cross_entropy(classes, labels)
            parts.append(part)
            stats[f"train/d_{kind}"] = torch.sigmoid(logits.detach()).mean()
        d_loss = torch.stack(parts).sum()
        if self.loss.gp_weight and real is not None and fake is not None:
            critic = (
                self.discriminator if labels is None else lambda x: self.discriminator(x, labels)
            )
            d_loss = d_loss + self.loss.gp_weight * gradient_penalty(critic, real, fake)
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        return {"train/d_loss": d_loss.detach(), **stats}

    def _generator_step(
        self, opt_g: LightningOptimizer, fake: torch.Tensor, labels: torch.Tensor | None
    ) -> torch.Tensor:
        """One G update through D (e.g. non-saturating BCE: fake labelled real); D is frozen."""
        with frozen(self.discriminator, self.aux_classifier):  # no D weight gradients
            logits, classes = self._critic(fake, labels)
            g_loss = self.loss.generator(logits)
            if classes is not None and labels is not None:  # ACGAN: fakes D can classify
                g_loss = g_loss + self.loss.ac_weight * F.cross_entropy(classes, labels)
            opt_g.zero_grad()
            self.manual_backward(g_loss)
        opt_g.step()
        return g_loss.detach()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        # D's belief on held-out real images vs fresh fakes: a gap between train/d_real and
        # val/d_real shows D memorising the (small) training set.
        real, labels = batch
        cond = labels if self.num_classes else None
        # At least two fakes: bn_sampling=batch cannot draw one alone (a last held-out batch
        # of one image); their mean logit is all that is logged.
        n = max(real.shape[0], 2)
        noise = torch.randn(n, self.latent_dim, device=self.device)
        fake = self.sample(noise, None if cond is None else cond.repeat(2)[:n])
        self.log_dict(
            {
                "val/d_real": torch.sigmoid(self.discriminator(real, cond)).mean(),
                "val/d_fake": torch.sigmoid(self.discriminator(fake, cond)).mean(),
            },
            sync_dist=True,  # averaged over DDP ranks (a no-op in one process)
        )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Runs before the weights load: a checkpoint of another architecture fails with one
        # line (train() checks this earlier too; this covers trainer.fit(..., ckpt_path)).
        upgrade_checkpoint(checkpoint)
        fold_norm_biases(checkpoint, self.generator)
        require_same_architecture(checkpoint, self.hparams, self.state_dict())
        fill_optional_state(checkpoint["state_dict"], self.state_dict())
        nets = self._generators()
        for name, state in (checkpoint.get(STANDING_KEY) or {}).items():
            if name in nets:  # used once the weights load and match its fingerprint
                STANDING.put(nets[name], StandingStatistics.from_state(state))

    def _progress(self) -> float:
        """The share of the run done (0..1): by epochs (or max_steps) or by the time budget
        (``trainer.max_time``), whichever is further; 0 when neither bounds the run."""
        trainer = self.trainer
        shares = [0.0]
        batches = trainer.num_training_batches
        if trainer.max_epochs and trainer.max_epochs > 0 and math.isfinite(batches) and batches:
            done = trainer.current_epoch * batches + trainer.fit_loop.epoch_loop.batch_idx + 1
            shares.append(done / (trainer.max_epochs * batches))
        if trainer.max_steps > 0:
            shares.append(trainer.global_step / trainer.max_steps)
        timer = budget_timer(trainer)
        if timer is not None:
            elapsed, left = timer.time_elapsed("train"), timer.time_remaining("train")
            if left is not None and elapsed + left > 0:
                shares.append(elapsed / (elapsed + left))
        return min(1.0, max(shares))

    def on_fit_start(self) -> None:
        if self.quality is not None:
            self.quality.to(self.device)
            self.quality.shard(self.global_rank, self.trainer.world_size)

    def on_validation_epoch_end(self) -> None:
        if self.quality is None or self.trainer.sanity_checking:
            return
        ema_settled = self.ema_leads_in_a_row >= EMA_LEADS_NEEDED
        if ema_settled and self.hparams["score_raw"] == "until_ema_leads":
            scores = self._score(ema=True)
            extra = {"fid_ema": scores["fid"]}
            # Lightning keeps a key's last value; train.log's epoch lines would repeat it.
            self.trainer.callback_metrics.pop("val/fid_raw", None)
        else:
            scores = self._score(ema=False)
            extra = {"fid_raw": scores["fid"]}
            if self.generator_ema is not None:
                ema_scores = self._score(ema=True)
                extra["fid_ema"] = ema_scores["fid"]
                self.use_ema.fill_(ema_scores["fid"] < scores["fid"])
                self.ema_leads_in_a_row = self.ema_leads_in_a_row + 1 if self.use_ema else 0
                scores = ema_scores if self.use_ema else scores  # the run reports the better one
        extra["uses_ema"] = float(self.use_ema)
        self.fid_best.fill_(min(float(self.fid_best), scores["fid"]))
        # Every rank holds the same scores (computed over all ranks' samples); sync_dist
        # only tells Lightning so.
        logged = {f"val/{name}": value for name, value in {**scores, **extra}.items()}
        self.log_dict(logged, sync_dist=True)
        self.log("val/fid_best", self.fid_best, sync_dist=True)

    def _score(self, ema: bool) -> dict[str, float]:
        assert self.quality is not None
        return self.quality.score(
            self._sampler(ema), self.latent_dim, self.device, self.num_classes
        )

    def _sampler(self, ema: bool, bn: str | None = None) -> Sampler:
        generator = self.generator_ema.module if ema and self.generator_ema else self.generator
        mode = bn or self.hparams["bn_sampling"]
        return lambda noise, labels=None: generate(generator, noise, labels, mode)

    def sample(
        self, noise: torch.Tensor, labels: torch.Tensor | None = None, bn: str | None = None
    ) -> torch.Tensor:
        """noise (N, latent_dim) [, labels (N,)] -> images (N, C, H, W) in [-1, 1].

        From the EMA generator while it scores better (``use_ema``), else the raw one, with
        BatchNorm statistics as ``bn`` (default: ``bn_sampling``) says. The model's state is
        unchanged.
        """
        return self._sampler(bool(self.use_ema), bn)(noise, labels)


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


STEPS = ("joint", "keras")
SCORE_RAW = ("always", "until_ema_leads")
# A lead at one validation can be luck (early on both FIDs are in the hundreds and close):
# the raw G stops being scored only after the EMA led this many validations in a row.
EMA_LEADS_NEEDED = 3


def require_step(step: str, loss: GANLoss) -> None:
    require_choice("step", step, STEPS)
    if step == "keras" and loss.gp_weight:
        raise UserError(
            "step=keras updates D on real and fake batches apart, but WGAN-GP's penalty needs "
            "both: use model.step=joint with loss=wgan_gp"
        )


def require_conditioning(
    conditional: bool, generator: Generator, discriminator: Discriminator
) -> int:
    """The class count both networks condition on (0: unconditional); they must agree."""
    classes = {generator.num_classes, discriminator.num_classes}
    if len(classes) > 1 or bool(generator.num_classes) != bool(conditional):
        raise UserError(
            f"conditional={conditional} but the generator conditions on {generator.num_classes} "
            f"classes and the discriminator on {discriminator.num_classes}; build both with "
            "conditional and num_classes from the model config (conf/model/*.yaml)"
        )
    return generator.num_classes
