"""The same seed and config give the same losses, step for step, on the CPU."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from dcgan_lab.cli.train import train
from tests.conftest import FAST_METRICS


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


def test_a_seed_trains_alike_whether_its_extractor_is_trained_first_or_cached(
    compose_train, tmp_path
) -> None:
    """The first run of a data set trains the scores' extractor after seeding itself; the
    next finds it cached. The same seed must give the same run either way."""
    common = ["data=random", "trainer=fast", "logger=none", *FAST_METRICS,
              f"paths.cache_dir={tmp_path / 'cache'}"]  # fmt: skip
    finals = [
        train(compose_train(*common, f"paths.output_dir={tmp_path / run}"))
        for run in ("first", "cached")
    ]
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1  # trained once, then read
    assert finals[0]["val/fid"] > 0 and finals[0] == finals[1]
