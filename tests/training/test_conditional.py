"""Conditional training: labels reach G and D, grids get a row per class, ACGAN's classifier."""

from __future__ import annotations

from functools import partial

import pytest
import pytorch_lightning as pl
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.errors import UserError
from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.training.losses import GANLoss, WassersteinGPLoss
from dcgan_lab.training.module import DCGANModule
from tests.conftest import keras_module

ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


def fit(module: DCGANModule, steps: int = 4) -> None:
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        max_steps=steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    trainer.fit(module, datamodule=ImageDataModule(RandomImages(n_train=32, n_val=8), batch_size=8))


def test_training_feeds_the_batch_labels_to_both_networks(monkeypatch) -> None:
    module = keras_module(num_classes=2, g_optimizer=ADAM, d_optimizer=ADAM)
    seen: dict[str, list[torch.Tensor | None]] = {"g": [], "d": []}
    g_forward, d_forward = module.generator.forward, module.discriminator.forward

    def watch_g(z, labels=None):
        seen["g"].append(labels)
        return g_forward(z, labels)

    def watch_d(images, labels=None):
        seen["d"].append(labels)
        return d_forward(images, labels)

    monkeypatch.setattr(module.generator, "forward", watch_g)
    monkeypatch.setattr(module.discriminator, "forward", watch_d)
    fit(module)
    assert seen["g"] and all(y is not None and y.shape == (8,) for y in seen["g"])
    assert seen["d"] and all(y is not None for y in seen["d"])
    assert {int(v) for y in seen["g"] if y is not None for v in y} == {0, 1}


def test_fixed_grid_has_one_row_per_class_with_shared_noise() -> None:
    module = keras_module(num_classes=10, n_fixed_samples=64)
    assert module.grid_columns == 8
    assert module.fixed_labels is not None
    assert module.fixed_labels.tolist() == [c for c in range(10) for _ in range(8)]
    rows = module.fixed_noise.view(10, 8, -1)
    assert torch.equal(rows[0], rows[9])  # each column keeps its noise across classes
    images = module.sample(module.fixed_noise, module.fixed_labels)
    assert images.shape == (80, 1, 28, 28)


def test_unconditional_module_ignores_labels() -> None:
    module = keras_module()
    assert module.fixed_labels is None and module.grid_columns is None
    assert module.num_classes == 0


def test_acgan_classifier_trains_with_d() -> None:
    module = keras_module(num_classes=2, loss=GANLoss(ac_weight=1.0), g_optimizer=ADAM,
                          d_optimizer=ADAM)  # fmt: skip
    assert module.aux_classifier is not None
    assert module.aux_classifier.out_features == 2
    before = module.aux_classifier.weight.detach().clone()
    _, d_opt = module.configure_optimizers()
    d_params = {id(p) for group in d_opt.param_groups for p in group["params"]}
    assert id(module.aux_classifier.weight) in d_params
    fit(module)
    assert not torch.equal(before, module.aux_classifier.weight)


def test_wgan_gp_penalty_runs_with_labels() -> None:
    loss = WassersteinGPLoss(gp_weight=10.0, n_critic=1)
    module = keras_module(num_classes=2, loss=loss, g_optimizer=ADAM, d_optimizer=ADAM)
    fit(module)  # the penalty's critic gets the batch's labels; it would raise without them


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: keras_module(loss=GANLoss(ac_weight=1.0)), "loss=acgan needs a conditional"),
        (
            lambda: DCGANModule(
                KerasGenerator(conditional=True, num_classes=10), KerasDiscriminator()
            ),
            "the generator conditions on 10 classes and the discriminator on 0",
        ),
        (
            lambda: DCGANModule(KerasGenerator(), KerasDiscriminator(), conditional=True),
            "conditional=True but the generator conditions on 0",
        ),
        (lambda: keras_module(loss=GANLoss(ac_weight=-1.0)), "ac_weight=-1.0 must be a number"),
    ],
)
def test_inconsistent_conditioning_fails_in_one_line(build, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build()
