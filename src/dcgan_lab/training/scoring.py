"""Each validation's scores (FID, KID, IS, ...) of the generators, the choice between the
EMA and the raw generator, and the best FID so far: a callback that ``dcgan-train`` adds
when ``metrics`` is on."""

from __future__ import annotations

import pytorch_lightning as pl

from dcgan_lab.metrics.quality import SampleQuality
from dcgan_lab.training.module import DCGANModule

# A lead at one validation can be luck (early on both FIDs are in the hundreds and close):
# the raw G stops being scored only after the EMA led this many validations in a row.
EMA_LEADS_NEEDED = 3


class ScoreSamples(pl.Callback):
    """Scores the module's generators on ``quality`` after every validation and logs
    ``val/<score>``, ``val/fid_raw``, ``val/fid_ema``, ``val/uses_ema`` and
    ``val/fid_best``. The module keeps the outcome (its ``use_ema`` and ``fid_best``
    buffers, in every checkpoint); ``sample()`` follows ``use_ema``.
    """

    def __init__(self, quality: SampleQuality) -> None:
        self.quality = quality
        # Validations in a row that scored the EMA generator ahead: from EMA_LEADS_NEEDED on,
        # ema.score_raw=until_ema_leads scores it alone (half the scoring time). Not saved: a
        # resumed run scores both again until the EMA leads as often.
        self.ema_leads_in_a_row = 0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.quality.to(pl_module.device)
        self.quality.shard(pl_module.global_rank, trainer.world_size)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        assert isinstance(pl_module, DCGANModule)
        module = pl_module
        ema_settled = self.ema_leads_in_a_row >= EMA_LEADS_NEEDED
        if ema_settled and module.ema.score_raw == "until_ema_leads":
            scores = self.score(module, ema=True)
            extra = {"fid_ema": scores["fid"]}
            # Lightning keeps a key's last value; train.log's epoch lines would repeat it.
            trainer.callback_metrics.pop("val/fid_raw", None)
        else:
            scores = self.score(module, ema=False)
            extra = {"fid_raw": scores["fid"]}
            if module.generator_ema is not None:
                ema_scores = self.score(module, ema=True)
                extra["fid_ema"] = ema_scores["fid"]
                module.use_ema.fill_(ema_scores["fid"] < scores["fid"])
                self.ema_leads_in_a_row = self.ema_leads_in_a_row + 1 if module.use_ema else 0
                scores = ema_scores if module.use_ema else scores  # the run reports the better
        extra["uses_ema"] = float(module.use_ema)
        module.fid_best.fill_(min(float(module.fid_best), scores["fid"]))
        # Every rank holds the same scores (computed over all ranks' samples); sync_dist
        # only tells Lightning so.
        logged = {f"val/{name}": value for name, value in {**scores, **extra}.items()}
        module.log_dict(logged, sync_dist=True)
        module.log("val/fid_best", module.fid_best, sync_dist=True)

    def score(self, module: DCGANModule, ema: bool) -> dict[str, float]:
        """The scores of the EMA (``ema``) or the raw generator."""
        return self.quality.score(
            module.sampler(ema), module.latent_dim, module.device, module.num_classes
        )
