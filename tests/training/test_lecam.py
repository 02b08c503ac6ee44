"""LeCam regularisation: its moving averages, its penalty, and its place in a training run."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.errors import UserError
from dcgan_lab.training.lecam import LeCamAnchors
from dcgan_lab.training.losses import GANLoss
from dcgan_lab.training.objective import AdversarialObjective
from tests.conftest import keras_module


def test_the_averages_start_at_the_first_batch_then_move_by_one_minus_the_decay() -> None:
    anchors = LeCamAnchors(decay=0.9)
    anchors.update("real", torch.tensor([1.0, 3.0]))  # first: the batch mean, 2
    assert float(anchors.real) == pytest.approx(2.0) and float(anchors.fake) == 0.0
    anchors.update("real", torch.tensor([12.0, 12.0]))
    assert float(anchors.real) == pytest.approx(0.9 * 2.0 + 0.1 * 12.0)
    anchors.update("fake", torch.tensor([-4.0]))
    assert float(anchors.fake) == pytest.approx(-4.0)
    assert anchors.seen.tolist() == [True, True]


def test_the_penalty_is_the_papers_hinged_square_distance_to_the_other_average() -> None:
    anchors = LeCamAnchors()
    anchors.real.fill_(1.0)
    anchors.fake.fill_(-1.0)
    real = torch.tensor([2.0, -3.0], requires_grad=True)  # only 2 lies above a_fake = -1
    fake = torch.tensor([0.0, 4.0], requires_grad=True)  # only 0 lies below a_real = 1
    assert anchors.penalty("real", real).item() == pytest.approx((3.0**2 + 0.0) / 2)
    assert anchors.penalty("fake", fake).item() == pytest.approx((1.0**2 + 0.0) / 2)
    anchors.penalty("real", real).backward()
    assert real.grad is not None and real.grad.tolist() == [3.0, 0.0]  # pushes D(x) down


def test_d_loss_adds_the_weighted_penalty_after_both_averages_move() -> None:
    module = keras_module(width=4, latent_dim=8, loss=GANLoss(lecam_weight=0.5))
    plain = AdversarialObjective(module.discriminator, GANLoss(), None, None)
    module.eval()  # dropout off: both objectives see the same logits
    real, fake = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        base, _ = plain.discriminator_loss(real, fake, None, batch_idx=1)
        with_lecam, _ = module.objective.discriminator_loss(real, fake, None, batch_idx=1)
        logits_real, logits_fake = module.discriminator(real), module.discriminator(fake)
    assert module.lecam is not None  # first step: each average is its batch's mean
    assert float(module.lecam.real) == pytest.approx(float(logits_real.mean()), abs=1e-6)
    expected = base + 0.5 * (
        torch.relu(logits_real - logits_fake.mean()).pow(2).mean()
        + torch.relu(logits_real.mean() - logits_fake).pow(2).mean()
    )
    assert float(with_lecam) == pytest.approx(float(expected), rel=1e-5)


def test_off_by_default_and_nothing_added_to_the_module() -> None:
    module = keras_module(width=4, latent_dim=8)
    assert module.lecam is None
    assert not any(name.startswith("lecam.") for name in module.state_dict())


def test_a_run_keeps_the_averages_in_its_checkpoint_and_a_resume_restores_them(
    tmp_path: Path,
) -> None:
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    torch.manual_seed(0)
    module = keras_module(width=4, latent_dim=8, g_optimizer=adam, d_optimizer=adam,
                          loss=GANLoss(lecam_weight=0.3))  # fmt: skip
    trainer = pl.Trainer(
        max_steps=12, limit_val_batches=0, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(
        module, datamodule=ImageDataModule(RandomImages(n_train=96, n_val=8), batch_size=16)
    )
    assert module.lecam is not None and module.lecam.seen.all()
    assert float(module.lecam.real) != 0.0 and float(module.lecam.fake) != 0.0
    path = tmp_path / "lecam.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["state_dict"]
    assert torch.equal(saved["lecam.real"], module.lecam.real)
    resumed = keras_module(width=4, latent_dim=8, loss=GANLoss(lecam_weight=0.3))
    resumed.on_load_checkpoint(saved_checkpoint := torch.load(path, weights_only=True))
    resumed.load_state_dict(saved_checkpoint["state_dict"])
    assert resumed.lecam is not None
    assert torch.equal(resumed.lecam.fake, module.lecam.fake)
    assert torch.equal(resumed.lecam.seen, module.lecam.seen)


def test_a_checkpoint_without_lecam_loads_into_a_module_with_it(tmp_path: Path) -> None:
    old = keras_module(width=4, latent_dim=8)
    checkpoint = {"state_dict": old.state_dict(), "hyper_parameters": dict(old.hparams)}
    new = keras_module(width=4, latent_dim=8, loss=GANLoss(lecam_weight=0.3))
    new.on_load_checkpoint(checkpoint)
    new.load_state_dict(checkpoint["state_dict"])  # fresh averages: not seen yet
    assert new.lecam is not None and not new.lecam.seen.any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lecam_weight": -1}, "lecam_weight=-1 must be a number >= 0"),
        ({"lecam_weight": "x"}, "lecam_weight='x' must be a number >= 0"),
        ({"lecam_decay": 1.0}, "lecam_decay=1.0 must be a number in [0, 1)"),
    ],
)
def test_bad_settings_are_refused_naming_them(options: dict, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        GANLoss(**options)
