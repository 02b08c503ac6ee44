"""The LightningModule: DCGAN training with manual optimization (D step, then G step)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.core.optimizer import LightningOptimizer
from torch.optim import Optimizer

from dcgan_lab.checkpoint_compat import require_same_architecture
from dcgan_lab.errors import TrainingDiverged, UserError
from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.models import Discriminator, Generator, init_dcgan_weights
from dcgan_lab.models.checks import require_positive_int
from dcgan_lab.sampling import generate

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], Optimizer]


class DCGANModule(pl.LightningModule):
    """Generator + discriminator trained adversarially with binary cross-entropy on logits.

    ``width`` sets both networks' base channel count; ``g_width`` / ``d_width`` override
    one side. ``g_optimizer`` / ``d_optimizer`` are optimizer factories (Hydra partials)
    that take the parameters; they are only needed for training. ``compile`` runs both
    networks through ``torch.compile``; ``channels_last`` stores conv weights and images
    NHWC (speed switches only: the maths and the checkpoint format are unchanged).
    """

    fixed_noise: torch.Tensor  # buffers, registered in __init__
    fid_best: torch.Tensor

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
        g_optimizer: OptimizerFactory | None = None,
        d_optimizer: OptimizerFactory | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        # Optimizer factories are code, not hyperparameters: the run's config records them.
        self.save_hyperparameters(ignore=["g_optimizer", "d_optimizer"])
        require_positive_int("model.width", width)
        g_width = width if g_width is None else g_width
        d_width = width if d_width is None else d_width
        self.generator = Generator(latent_dim, g_width, channels, image_size)
        self.discriminator = Discriminator(d_width, dropout, channels, image_size)
        self.generator.apply(init_dcgan_weights)
        self.discriminator.apply(init_dcgan_weights)
        self.g_optimizer_factory = g_optimizer
        self.d_optimizer_factory = d_optimizer
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
        fake = self.generator(z)  # (B, C, H, W); reused by the G step, so G runs once
        d_stats = self._discriminator_step(opt_d, real, fake.detach())
        g_loss = self._generator_step(opt_g, fake)
        self._stop_if_diverged(d_stats["train/d_loss"], g_loss)
        if self._logs_this_step():
            self.log_dict({"train/g_loss": g_loss, **d_stats}, prog_bar=True)

    def _stop_if_diverged(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        # One host sync per step: a NaN must stop the run before any checkpoint saves it.
        if not bool(torch.isfinite(d_loss) & torch.isfinite(g_loss)):
            raise TrainingDiverged(
                f"training diverged at step {self.global_step}: train/d_loss={float(d_loss):.4g}, "
                f"train/g_loss={float(g_loss):.4g}; the last good checkpoint is kept "
                "(lower the learning rates to continue)"
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
        self, opt_d: LightningOptimizer, real: torch.Tensor, fake: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """One D update on real (target 1) and detached fake (target 0); G is frozen."""
        self.toggle_optimizer(opt_d)
        real_logits = self.discriminator(real)  # (B,)
        fake_logits = self.discriminator(fake)  # (B,)
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
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
        """One G update through D (non-saturating loss: fake labelled real); D is frozen."""
        self.toggle_optimizer(opt_g)
        logits = self.discriminator(fake)  # (B,)
        g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
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
        # Checkpoints written before the metrics existed have no best FID yet.
        checkpoint["state_dict"].setdefault("fid_best", torch.tensor(float("inf")))

    def on_fit_start(self) -> None:
        if self.quality is not None:
            self.quality.to(self.device)
            self.quality.shard(self.global_rank, self.trainer.world_size)

    def on_validation_epoch_end(self) -> None:
        if self.quality is None or self.trainer.sanity_checking:
            return
        scores = self.quality.score(self.sample, self.latent_dim, self.device)
        self.fid_best.fill_(min(float(self.fid_best), scores["fid"]))
        # Every rank holds the same scores (computed over all ranks' samples); sync_dist
        # only tells Lightning so.
        self.log_dict({f"val/{name}": value for name, value in scores.items()}, sync_dist=True)
        self.log("val/fid_best", self.fid_best, sync_dist=True)

    def sample(self, noise: torch.Tensor) -> torch.Tensor:
        """noise (N, latent_dim) -> images (N, C, H, W) in [-1, 1]; model state unchanged."""
        return generate(self.generator, noise)
