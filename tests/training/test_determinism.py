"""The same seed and config give the same losses, step for step, on the CPU."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate


class LossRecorder(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[tuple[float, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        metrics = trainer.callback_metrics
        self.losses.append((float(metrics["train/d_loss"]), float(metrics["train/g_loss"])))


def first_losses(cfg) -> list[tuple[float, float]]:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = instantiate(cfg.data)
    model = instantiate(cfg.model)
    recorder = LossRecorder()
    trainer = instantiate(
        cfg.trainer, logger=False, callbacks=[recorder], max_epochs=-1, max_steps=50,
        limit_val_batches=0, log_every_n_steps=1, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    return recorder.losses


@pytest.mark.slow  # a minute or more on 2 cores: nox -s slow
def test_same_seed_same_losses_for_the_first_50_steps(compose_train) -> None:
    cfg = compose_train(
        "data=random", "metrics=none", "model.generator.width=16", "model.discriminator.width=16"
    )
    first, second = first_losses(cfg), first_losses(cfg)
    assert len(first) == 25  # 50 optimizer steps: a D and a G step per batch
    assert first == second  # bit-identical
    other = first_losses(
        compose_train(
            "data=random",
            "metrics=none",
            "model.generator.width=16",
            "model.discriminator.width=16",
            "seed=7",
        )
    )
    assert other != first
    assert torch.isfinite(torch.tensor(first)).all()
