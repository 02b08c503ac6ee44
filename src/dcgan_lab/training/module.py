"""The LightningModule: adversarial training with manual optimization (D step, then G step).

The networks are built elsewhere (``conf/model/<architecture>.yaml``) and handed in; this
module owns what training adds to them: the steps, optimizers, the EMA generator and what a
checkpoint keeps. Scoring is a callback (``training/scoring.py``), the divergence check a
collaborator (``training/divergence.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import pytorch_lightning as pl
import torch
from pytorch_lightning.core.optimizer import LightningOptimizer
from torch import nn
from torch.optim import Optimizer

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.errors import UserError
from dcgan_lab.models.base import Discriminator, Generator, from_spec
from dcgan_lab.models.sampling import (
    STANDING,
    Sampler,
    generate,
    grid_inputs,
    require_bn_mode,
    truncated,
)
from dcgan_lab.runs.checkpoints import (
    STANDING_KEY,
    fill_optional_state,
    fold_norm_biases,
    require_same_architecture,
    upgrade_checkpoint,
)
from dcgan_lab.training.ada import AdaptiveAugment, ada_settings
from dcgan_lab.training.augment import DiffAugment
from dcgan_lab.training.consistency import consistency_settings
from dcgan_lab.training.divergence import DivergenceWatch, replica_drift
from dcgan_lab.training.ema import EMASettings, ema_settings
from dcgan_lab.training.lecam import LeCamAnchors
from dcgan_lab.training.losses import GANLoss, loss_spec
from dcgan_lab.training.mode_seeking import Twins, mode_seeking_settings, with_twins
from dcgan_lab.training.objective import AdversarialObjective, frozen
from dcgan_lab.training.progress import logs_this_step, run_progress
from dcgan_lab.training.self_conditioning import (
    CLUSTERS,
    ClusterLabels,
    self_conditioning_settings,
)
from dcgan_lab.training.settings import require_conditioning, require_step, speed_settings
from dcgan_lab.training.topk import topk_settings

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], Optimizer]
Batch = tuple[torch.Tensor, torch.Tensor]  # images (B, C, H, W) in [-1, 1], labels (B,)


class DCGANModule(pl.LightningModule):
    """A generator and a discriminator trained adversarially on D's logits.

    ``g_optimizer`` / ``d_optimizer``: optimizer factories (Hydra partials) taking the
    parameters, only needed for training. ``conditional``: G and D see the labels (the
    networks must be built so; conf/model/*.yaml pass the switch on); ``clusters``: they
    see clusters of D's features instead (``self_conditioning``,
    training/self_conditioning.py). ``step``: ``joint`` (one D update on real and fake
    together, G's fakes reused for its update) or ``keras`` (the Keras recipe's sequence,
    ``_keras_step``). Quality switches (docs/results.md, docs/techniques.md): ``augment``
    (DiffAugment policy), ``ada`` (adaptive augmentation), ``consistency`` (bCR, zCR),
    ``topk`` (G's loss on the best fakes), ``mode_seeking`` (G rewarded for images as far
    apart as their latents), ``ema`` (training/ema.py), ``bn_sampling``
    (BatchNorm statistics when sampling). ``speed`` (same maths, same checkpoints):
    ``compile`` and ``channels_last`` (NHWC).
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
        conditional: bool | str = False,
        n_fixed_samples: int = 64,
        augment: str | Sequence[str] | None = None,
        ema: Mapping[str, Any] | None = None,
        bn_sampling: str = "standing",
        step: str = "joint",
        speed: Mapping[str, Any] | None = None,
        ada: Mapping[str, Any] | None = None,
        consistency: Mapping[str, Any] | None = None,
        topk: Mapping[str, Any] | None = None,
        self_conditioning: Mapping[str, Any] | None = None,
        mode_seeking: Mapping[str, Any] | None = None,
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
        require_bn_mode("bn_sampling", bn_sampling)
        self.ema: EMASettings = ema_settings(ema)
        self.speed = speed_settings(speed)
        self.consistency, self.topk = consistency_settings(consistency), topk_settings(topk)
        self.mode_seeking = mode_seeking_settings(mode_seeking)
        require_step(step, self.loss, self.consistency, self.mode_seeking)
        ada_node = ada_settings(ada)
        # How to rebuild the networks and the loss: checkpoints are self-contained.
        self.hparams.update(generator=generator.spec(), discriminator=discriminator.spec())
        self.hparams.update(loss=loss_spec(self.loss), ema=self.ema.as_dict(), speed=self.speed)
        clustering = self_conditioning_settings(self_conditioning)
        self.hparams.update(
            ada=ada_node.as_dict(),
            consistency=self.consistency.as_dict(),
            topk=self.topk.as_dict(),
            mode_seeking=self.mode_seeking.as_dict(),
            self_conditioning=clustering.as_dict(),
        )
        self.num_classes = require_conditioning(conditional, generator, discriminator)
        self.generator, self.discriminator = generator, discriminator
        # Self-conditioning: the labels are D's feature clusters (None: the data's labels).
        self.clusters = (
            ClusterLabels(clustering, discriminator.pooled_dim) if conditional == CLUSTERS else None
        )
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer
        # ACGAN: an auxiliary classifier on D's features, trained with D (Odena et al. 2017).
        self.aux_classifier: nn.Linear | None = None
        if self.loss.ac_weight:
            if not self.num_classes:
                raise UserError("loss=acgan needs a conditional model: add model.conditional=true")
            self.aux_classifier = nn.Linear(discriminator.pooled_dim, self.num_classes)
        self.augment = DiffAugment(augment) if augment else None
        self.lecam = LeCamAnchors(self.loss.lecam_decay) if self.loss.lecam_weight else None
        self.ada = AdaptiveAugment(ada_node) if ada_node.on else None
        self.objective = AdversarialObjective(
            discriminator,
            self.loss,
            self.augment,
            self.aux_classifier,
            self.lecam,
            self.ada,
            self.consistency,
            self.topk,
            self.mode_seeking,
        )
        # The generator's moving average (None: off); sampled and scored beside the raw G.
        self.generator_ema = self.ema.average_of(generator)
        # Which generator sample() uses: the EMA one while it scores better (or, before any
        # score, whenever there is one), and the best FID so far; the scoring callback sets
        # both. Buffers, so checkpoints keep them.
        self.register_buffer("use_ema", torch.tensor(self.generator_ema is not None))
        # Noise (and labels) of the per-epoch grid; buffers: they follow the device and live
        # in checkpoints, so grids compare across epochs and resumes.
        noise, labels = grid_inputs(n_fixed_samples, self.latent_dim, self.num_classes)
        self.register_buffer("fixed_noise", noise)  # (n, Z)
        self.register_buffer("fixed_labels", labels)  # (n,) or None
        self.register_buffer("fid_best", torch.tensor(float("inf")))
        self.divergence = DivergenceWatch()
        self.truncation: float | None = None  # sampling only (training/loading.py sets it)

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
        if self.speed["channels_last"]:
            self.to(memory_format=torch.channels_last)  # only 4-D conv weights change
        if self.speed["compile"]:
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

    def draw_noise(self, n: int) -> torch.Tensor:
        """The training step's latent batch (n, Z) ~ N(0, 1); tests feed their own."""
        return torch.randn(n, self.latent_dim, device=self.device)

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real, labels = batch  # (B, C, H, W) in [-1, 1], (B,)
        if self.speed["channels_last"]:
            real = real.contiguous(memory_format=torch.channels_last)
        cond = labels if self.num_classes else None  # fakes get the batch's labels
        if self.clusters is not None:  # self-conditioning: each real image's cluster
            cond = self.clusters.assign(self.discriminator, real)
        opt_g, opt_d = cast(list[LightningOptimizer], self.optimizers())
        z = self.draw_noise(real.shape[0])  # (B, Z)
        train_g = (batch_idx + 1) % self.loss.n_critic == 0  # WGAN-GP: n_critic D steps per G
        if self.hparams["step"] == "keras":
            stats = self._keras_step(opt_d, real, z, cond, batch_idx)
        else:
            near = None  # zCR's fakes from nearby latents (B, C, H, W)
            twins: Twins | None = None  # mode seeking's fakes from other latents, same labels
            with torch.set_grad_enabled(train_g):
                if train_g and self.mode_seeking.weight:
                    fake, twins = with_twins(self.generator, z, cond, self.draw_noise(len(z)))
                else:
                    fake = self.generator(z, cond)  # (B, C, H, W); reused by the G step
                if self.consistency.zcr_weight:
                    sigma = self.consistency.zcr_sigma
                    near = self.generator(z + sigma * torch.randn_like(z), cond)
            detached_near = near.detach() if near is not None else None
            stats = self._discriminator_step(
                opt_d, real, fake.detach(), cond, batch_idx, detached_near
            )
        if train_g:
            if self.hparams["step"] == "keras":
                # gan.train_on_batch(noise, true): G in training mode (batch statistics) on
                # the noise D's fakes came from, through D with its dropout on.
                fake, near, twins = self.generator(z, cond), None, None
            # 0..1, read only for what uses it: the EMA's span, mode seeking's fade
            fading = twins is not None and self.mode_seeking.fade
            uses_progress = self.generator_ema is not None or fading
            progress = run_progress(self.trainer) if uses_progress else 0.0
            stats["train/g_loss"] = self._generator_step(opt_g, fake, cond, near, twins, progress)
            if self.generator_ema is not None:
                self.generator_ema.update_parameters(self.generator, progress)
        logs = logs_this_step(self.trainer)
        self.divergence.after_step(stats, self.global_step, self.device, logs)
        # Each ``self.log`` walks Lightning's whole result collection: the steps whose values
        # would be dropped skip it (half the step time of small models on GPU).
        if logs:
            self.log_dict(stats, prog_bar=True)

    def _discriminator_step(
        self,
        opt_d: LightningOptimizer,
        real: torch.Tensor | None,
        fake: torch.Tensor | None,
        labels: torch.Tensor | None,
        batch_idx: int,
        near: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One D update on real and detached fake images (B, C, H, W); either may be None.
        ``near``: zCR's detached fakes."""
        d_loss, stats = self.objective.discriminator_loss(real, fake, labels, batch_idx, near)
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        return {"train/d_loss": d_loss.detach(), **stats}

    def _generator_step(
        self,
        opt_g: LightningOptimizer,
        fake: torch.Tensor,
        labels: torch.Tensor | None,
        near: torch.Tensor | None = None,
        twins: Twins | None = None,
        progress: float = 0.0,
    ) -> torch.Tensor:
        """One G update through D; D is frozen (no D weight gradients). ``near``: zCR's
        fakes, ``twins``: mode seeking's (both with G's graph); ``progress``: the run's."""
        with frozen(self.discriminator, self.aux_classifier):
            g_loss = self.objective.generator_loss(
                fake, labels, self.current_epoch, near, twins, progress
            )
            opt_g.zero_grad()
            self.manual_backward(g_loss)
        opt_g.step()
        return g_loss.detach()

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

    def on_train_epoch_start(self) -> None:
        clusters = self.clusters
        every = clusters.settings.every_n_epochs if clusters is not None else 0
        if clusters is None or (bool(clusters.ready) and self.current_epoch % every):
            return
        loaded = getattr(getattr(self.trainer, "datamodule", None), "loaded", None)
        if loaded is None:
            raise UserError(
                "model.conditional=clusters clusters the training images of a datamodule"
            )
        images = loaded().train_images
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        chosen = images[pick[: clusters.settings.max_images].to(images.device)]
        clusters.recluster(
            self.discriminator, to_signed_unit(chosen).to(self.device), self.current_epoch
        )

    def on_train_epoch_end(self) -> None:
        # Runs before the checkpoint callbacks: a non-finite weight is never saved.
        self.divergence.check_weights(self.named_parameters(), self.global_step)
        if self.trainer.world_size > 1:
            self.log("train/replica_drift", replica_drift(self), sync_dist=True)

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

    def sampler(self, ema: bool, bn: str | None = None) -> Sampler:
        """The EMA or the raw generator as a sampler, with BatchNorm statistics as ``bn``
        says (default: ``bn_sampling``)."""
        generator = self.generator_ema.module if ema and self.generator_ema else self.generator
        mode, t = bn or self.hparams["bn_sampling"], self.truncation  # t: dcgan-sample/-eval's
        return lambda z, labels=None: generate(generator, truncated(z, t) if t else z, labels, mode)

    def sample(
        self, noise: torch.Tensor, labels: torch.Tensor | None = None, bn: str | None = None
    ) -> torch.Tensor:
        """noise (N, latent_dim) [, labels (N,)] -> images (N, C, H, W) in [-1, 1].

        From the EMA generator while it scores better (``use_ema``), else the raw one, with
        BatchNorm statistics as ``bn`` (default: ``bn_sampling``) says. The model's state is
        unchanged.
        """
        return self.sampler(bool(self.use_ema), bn)(noise, labels)

    def _generators(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = {"generator": self.generator}
        if self.generator_ema is not None:
            nets["generator_ema"] = self.generator_ema.module
        return nets

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.divergence.check(self.global_step)  # before anything is written
        # The statistics standing-mode sampling used for these weights, so that a checkpoint
        # samples as the run scored it; the key marks checkpoints that know this mode.
        standing = self.hparams["bn_sampling"] == "standing"
        checkpoint[STANDING_KEY] = STANDING.states(self._generators()) if standing else {}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Runs before the weights load: a checkpoint of another architecture fails with one
        # line (train() checks this earlier too; this covers trainer.fit(..., ckpt_path)).
        upgrade_checkpoint(checkpoint)
        fold_norm_biases(checkpoint, self.generator)
        require_same_architecture(checkpoint, self.hparams, self.state_dict())
        fill_optional_state(checkpoint["state_dict"], self.state_dict())
        STANDING.restore(self._generators(), checkpoint.get(STANDING_KEY) or {})
