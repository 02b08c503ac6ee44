"""Consistency regularisation (bCR, zCR) and top-k training: their terms against the papers'
formulas, and a short run with each on (and one with mode seeking, whose terms
tests/training/test_mode_seeking.py checks)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.training.augment import translation
from dcgan_lab.training.losses import GANLoss
from dcgan_lab.training.objective import AdversarialObjective
from dcgan_lab.training.topk import TopKSettings
from tests.conftest import keras_module


def test_topk_keeps_the_highest_scored_share_annealed_per_epoch() -> None:
    topk = TopKSettings(min_fraction=0.5, decay=0.9)
    logits = torch.arange(10.0)
    assert torch.equal(topk.kept(logits, epoch=0), logits)  # epoch 0: the whole batch
    assert sorted(topk.kept(logits, epoch=2).tolist()) == [1.0, *range(2, 10)]  # 0.81 -> 9
    assert sorted(topk.kept(logits, epoch=50).tolist()) == [5.0, 6.0, 7.0, 8.0, 9.0]  # floor
    assert topk.kept(torch.tensor([3.0]), epoch=50).tolist() == [3.0]  # at least one
    assert torch.equal(TopKSettings().kept(logits, epoch=50), logits)  # 1: off


def test_g_loss_with_topk_is_the_loss_over_the_best_fakes_only() -> None:
    module = keras_module(width=4, latent_dim=8, topk={"min_fraction": 0.25, "decay": 0.5})
    module.eval()  # dropout off: the same logits in both computations
    fake = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        loss = module.objective.generator_loss(fake, None, epoch=3)  # max(0.125, 0.25) -> 2
        logits = module.discriminator(fake)
    assert float(loss) == pytest.approx(float(GANLoss().generator(logits.topk(2).values)))


def test_bcr_adds_the_weighted_squared_gap_to_shifted_copies_real_and_fake() -> None:
    module = keras_module(width=4, latent_dim=8, consistency={"bcr_weight": 10.0})
    plain = AdversarialObjective(module.discriminator, GANLoss(), None, None)
    module.eval()
    real, fake = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    d = module.discriminator
    with torch.no_grad():
        base, _ = plain.discriminator_loss(real, fake, None, batch_idx=1)
        torch.manual_seed(3)
        with_bcr, _ = module.objective.discriminator_loss(real, fake, None, batch_idx=1)
        torch.manual_seed(3)  # the same shifts, drawn in the same order (real, then fake)
        gaps = [F.mse_loss(d(x), d(translation(x))) for x in (real, fake)]
    assert float(with_bcr) == pytest.approx(float(base + 10.0 * sum(gaps)), rel=1e-5)


def test_zcr_pulls_d_scores_of_near_fakes_together_and_pushes_g_images_apart() -> None:
    settings = {"zcr_weight": 5.0, "zcr_generator_weight": 0.5}
    module = keras_module(width=4, latent_dim=8, consistency=settings)
    plain = AdversarialObjective(module.discriminator, GANLoss(), None, None)
    module.eval()
    real, fake, near = (torch.randn(4, 1, 28, 28) for _ in range(3))
    d = module.discriminator
    with torch.no_grad():
        base, _ = plain.discriminator_loss(real, fake, None, batch_idx=1)
        with_zcr, _ = module.objective.discriminator_loss(real, fake, None, 1, near)
        assert float(with_zcr) == pytest.approx(
            float(base + 5.0 * F.mse_loss(d(fake), d(near))), rel=1e-5
        )
        g_plain = plain.generator_loss(fake, None)
        g_zcr = module.objective.generator_loss(fake, None, near=near)
    assert float(g_zcr) == pytest.approx(float(g_plain - 0.5 * F.mse_loss(fake, near)), rel=1e-5)


@pytest.mark.parametrize(
    "options",
    [
        {"consistency": {"bcr_weight": 10.0, "zcr_weight": 5.0}, "topk": {"min_fraction": 0.5}},
        {"consistency": {"bcr_weight": 10.0}, "step": "keras"},
        {"num_classes": 2, "mode_seeking": {"weight": 1.0}},  # RandomImages: 2 labels
    ],
    ids=["joint", "keras", "mode-seeking"],
)
def test_a_short_run_with_the_terms_on_trains_with_finite_losses(
    tmp_path: Path, options: dict
) -> None:
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    torch.manual_seed(0)
    module = keras_module(width=4, latent_dim=8, g_optimizer=adam, d_optimizer=adam, **options)
    before = [p.clone() for p in module.generator.parameters()]
    trainer = pl.Trainer(
        max_steps=8, limit_val_batches=0, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
        log_every_n_steps=1,
    )  # fmt: skip
    trainer.fit(
        module, datamodule=ImageDataModule(RandomImages(n_train=64, n_val=8), batch_size=16)
    )
    for key in ("train/d_loss", "train/g_loss"):
        assert torch.isfinite(trainer.logged_metrics[key]), key
    after = module.generator.parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
