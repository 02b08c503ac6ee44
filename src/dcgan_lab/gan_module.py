"""The LightningModule: DCGAN training with manual optimization (D step, then G step)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import pytorch_lightning as pl
import torch
from pytorch_lightning.core.optimizer import LightningOptimizer
from torch.optim import Optimizer

from dcgan_lab.augment import DiffAugment
from dcgan_lab.checkpoint_compat import fill_optional_state, require_same_architecture
from dcgan_lab.ema import ema_of
from dcgan_lab.errors import TrainingDiverged, UserError
from dcgan_lab.losses import GANLoss, gradient_penalty, r1_penalty
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models import Discriminator, Generator, add_spectral_norm, init_dcgan_weights
from dcgan_lab.models.checks import require_positive_int
from dcgan_lab.sampling import generate, require_bn_mode

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], Optimizer]


class DCGANModule(pl.LightningModule):
    """Generator + discriminator trained adversarially on D's logits (``loss``: BCE default).

    ``width`` sets both networks' base channel count; ``g_width`` / ``d_width`` override
    one side. ``g_optimizer`` / ``d_optimizer`` are optimizer factories (Hydra partials)
    that take the parameters; they are only needed for training. ``compile`` runs both
    networks through ``torch.compile``; ``channels_last`` stores conv weights and images
    NHWC; ``fused_upsample`` runs G's upsample + conv pairs at the low resolution (speed
    switches only: the maths and the checkpoint format are unchanged).
    Quality switches (README "Result quality"): ``spectral_norm`` for D, ``augment``
    (DiffAugment policy), ``ema_decay`` / ``ema_warmup`` (an EMA generator, scored beside
    G), ``bn_sampling`` (BatchNorm statistics when sampling).
    """

    fixed_noise: torch.Tensor  # buffers, registered in __init__
    fid_best: torch.Tensor
    use_ema: torch.Tensor

    def __init__(
        self,
        latent_dim: int = 100,
        width: int = 64,
        g_width: int | None = None,
        d_width: int | None = None,
        dropout: float = 0.3,
        channels: int = 1,
        image_size: int = 28,
        n_fixed_samples: int = 64,
        compile: bool = False,
        channels_last: bool = False,
        fused_upsample: bool = False,
        g_optimizer: OptimizerFactory | None = None,
        d_optimizer: OptimizerFactory | None = None,
        loss: GANLoss | None = None,
        spectral_norm: bool = False,
        augment: str | Sequence[str] | None = None,
        ema_decay: float = 0.0,
        ema_warmup: int = 0,
        bn_sampling: str = "batch",
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        # Optimizers and the loss are objects, not hyperparameters: the run's config records
        # them. The defaults here are the reference recipe; conf/model/dcgan.yaml improves it.
        self.save_hyperparameters(ignore=["g_optimizer", "d_optimizer", "loss"])
        require_positive_int("model.width", width)
        require_bn_mode("model.bn_sampling", bn_sampling)
        g_width = width if g_width is None else g_width
        d_width = width if d_width is None else d_width
        self.generator = Generator(latent_dim, g_width, channels, image_size, fused_upsample)
        self.discriminator = Discriminator(d_width, dropout, channels, image_size)
        self.generator.apply(init_dcgan_weights)
        self.discriminator.apply(init_dcgan_weights)
        if spectral_norm:  # after init: it reparametrises the initialised weights
            self.discriminator.apply(add_spectral_norm)
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer
        self.loss = loss or GANLoss()
        self.augment = DiffAugment(augment) if augment else None
        # The generator's moving average (None: off); sampled and scored beside the raw G.
        self.generator_ema = ema_of(self.generator, ema_decay, ema_warmup) if ema_decay else None
        # Which generator sample() uses: the EMA one while it scores better (or, before any
        # score, whenever there is one). A buffer, so checkpoints keep the choice.
        self.register_buffer("use_ema", torch.tensor(self.generator_ema is not None))
        # Fixed noise for comparable sample grids across epochs; a buffer so it follows the
        # device and is saved in checkpoints. (n_fixed_samples, latent_dim)
        self.register_buffer("fixed_noise", torch.randn(n_fixed_samples, latent_dim))
        # FID-style scorer, attached after construction (it needs the data and a trained
        # extractor, so bad model settings fail first); None: no scores. The best FID so
        # far is checkpointed state.
        self.quality: SampleQuality | None = None
        self.register_buffer("fid_best", torch.tensor(float("inf")))

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

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
        return [
            self.g_optimizer_factory(self.generator.parameters()),
            self.d_optimizer_factory(self.discriminator.parameters()),
        ]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, _ = batch  # (B, C, H, W) in [-1, 1]
        if self.hparams["channels_last"]:
            real = real.contiguous(memory_format=torch.channels_last)
        opt_g, opt_d = cast(list[LightningOptimizer], self.optimizers())
        z = torch.randn(real.shape[0], self.latent_dim, device=self.device)
        train_g = (batch_idx + 1) % self.loss.n_critic == 0  # WGAN-GP: n_critic D steps per G
        with torch.set_grad_enabled(train_g):
            fake = self.generator(z)  # (B, C, H, W); reused by the G step, so G runs once
        stats = self._discriminator_step(opt_d, real, fake.detach(), batch_idx)
        if train_g:
            stats["train/g_loss"] = self._generator_step(opt_g, fake)
            if self.generator_ema is not None:
                self.generator_ema.update_parameters(self.generator)
        self._stop_if_diverged(stats)
        if self._logs_this_step():
            self.log_dict(stats, prog_bar=True)

    def _critic(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits (B,) on images (B, C, H, W), through DiffAugment when it is on."""
        return self.discriminator(self.augment(images) if self.augment else images)

    def _stop_if_diverged(self, stats: dict[str, torch.Tensor]) -> None:
        # One host sync per step: a NaN must stop the run before any checkpoint saves it.
        losses = {name: stats[name] for name in ("train/d_loss", "train/g_loss") if name in stats}
        if not bool(torch.stack(list(losses.values())).isfinite().all()):
            values = ", ".join(f"{name}={float(value):.4g}" for name, value in losses.items())
            raise TrainingDiverged(
                f"training diverged at step {self.global_step}: {values}; the last good "
                "checkpoint is kept (lower the learning rates to continue)"
            )

    def on_train_epoch_end(self) -> None:
        # Runs before the checkpoint callbacks: a non-finite weight is never saved.
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
        connector = getattr(self.trainer, "_logger_connector", None)
        return bool(getattr(connector, "should_update_logs", True))

    def _discriminator_step(
        self, opt_d: LightningOptimizer, real: torch.Tensor, fake: torch.Tensor, batch_idx: int
    ) -> dict[str, torch.Tensor]:
        """One D update on real and detached fake images; G is frozen."""
        self.toggle_optimizer(opt_d)
        r1_weight = self.loss.r1_weight_at(batch_idx)
        if r1_weight:
            real = real.detach().requires_grad_(True)  # R1 differentiates D(real) by real
        real_logits = self._critic(real)  # (B,)
        fake_logits = self._critic(fake)  # (B,)
        d_loss = self.loss.discriminator(real_logits, fake_logits)
        if r1_weight:
            d_loss = d_loss + 0.5 * r1_weight * r1_penalty(real_logits, real)
        if self.loss.gp_weight:
            d_loss = d_loss + self.loss.gp_weight * gradient_penalty(self.discriminator, real, fake)
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)
        return {
            "train/d_loss": d_loss.detach(),
            "train/d_real": torch.sigmoid(real_logits.detach()).mean(),
            "train/d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def _generator_step(self, opt_g: LightningOptimizer, fake: torch.Tensor) -> torch.Tensor:
        """One G update through D (e.g. non-saturating BCE: fake labelled real); D is frozen."""
        self.toggle_optimizer(opt_g)
        g_loss = self.loss.generator(self._critic(fake))
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        return g_loss.detach()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        # D's belief on held-out real digits vs fresh fakes: a gap between train/d_real and
        # val/d_real shows D memorising the (small) training set.
        real, _ = batch
        fake = self.sample(torch.randn(real.shape[0], self.latent_dim, device=self.device))
        self.log_dict(
            {
                "val/d_real": torch.sigmoid(self.discriminator(real)).mean(),
                "val/d_fake": torch.sigmoid(self.discriminator(fake)).mean(),
            },
            sync_dist=True,  # averaged over DDP ranks (a no-op in one process)
        )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Runs before the weights load: a checkpoint of another width fails with one line
        # (train() checks this earlier too; this covers trainer.fit(..., ckpt_path) in code).
        require_same_architecture(
            checkpoint.get("hyper_parameters", {}),
            checkpoint["state_dict"],
            self.hparams,
            self.state_dict(),
        )
        fill_optional_state(checkpoint["state_dict"], self.state_dict())

    def on_fit_start(self) -> None:
        if self.quality is not None:
            self.quality.to(self.device)
            self.quality.shard(self.global_rank, self.trainer.world_size)

    def on_validation_epoch_end(self) -> None:
        if self.quality is None or self.trainer.sanity_checking:
            return
        scores = self.quality.score(self._sampler(ema=False), self.latent_dim, self.device)
        extra = {"fid_raw": scores["fid"]}
        if self.generator_ema is not None:
            ema_scores = self.quality.score(self._sampler(ema=True), self.latent_dim, self.device)
            extra["fid_ema"] = ema_scores["fid"]
            self.use_ema.fill_(ema_scores["fid"] < scores["fid"])
            scores = ema_scores if self.use_ema else scores  # the run reports the better one
        extra["uses_ema"] = float(self.use_ema)
        self.fid_best.fill_(min(float(self.fid_best), scores["fid"]))
        # Every rank holds the same scores (computed over all ranks' samples); sync_dist
        # only tells Lightning so.
        logged = {f"val/{name}": value for name, value in {**scores, **extra}.items()}
        self.log_dict(logged, sync_dist=True)
        self.log("val/fid_best", self.fid_best, sync_dist=True)

    def _sampler(self, ema: bool) -> Callable[[torch.Tensor], torch.Tensor]:
        generator = self.generator_ema.module if ema and self.generator_ema else self.generator
        return lambda noise: generate(generator, noise, self.hparams["bn_sampling"])

    def sample(self, noise: torch.Tensor) -> torch.Tensor:
        """noise (N, latent_dim) -> images (N, C, H, W) in [-1, 1]; model state unchanged.

        From the EMA generator while it scores better (``use_ema``), else the raw one, with
        BatchNorm statistics as ``bn_sampling`` says.
        """
        return self._sampler(ema=bool(self.use_ema))(noise)
