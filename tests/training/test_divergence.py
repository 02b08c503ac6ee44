"""A NaN loss or weight stops the run at once and never overwrites the last good checkpoint."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import hydra
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

import dcgan_lab.training.module as module_file
from dcgan_lab.cli import train
from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.errors import TrainingDiverged
from dcgan_lab.report.collect import read_sweep
from dcgan_lab.training.divergence import DivergenceWatch
from tests.conftest import CONF, keras_module, run_cli


class PoisonAt(pl.Callback):
    """Sets one generator weight to NaN after the given batch (counted over the whole run)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.fit_loop.total_batch_idx == self.batch:
            with torch.no_grad():
                pl_module.generator.upsample[1].weight[0, 0, 0, 0] = float("nan")


@pytest.mark.parametrize(("poison_batch", "where"), [(5, "train/"), (7, "non-finite weights")])
def test_nan_stops_at_once_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, poison_batch: int, where: str
) -> None:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    module = keras_module(width=4, latent_dim=8, g_optimizer=adam, d_optimizer=adam)
    checkpoint = hydra.utils.instantiate(
        OmegaConf.load(CONF / "callbacks" / "default.yaml").model_checkpoint, dirpath=tmp_path
    )  # the project's own checkpoint settings
    trainer = pl.Trainer(
        max_epochs=5, limit_val_batches=0, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu",
        callbacks=[PoisonAt(poison_batch), checkpoint],
    )  # fmt: skip
    data = ImageDataModule(RandomImages(n_train=64, n_val=8), batch_size=16)  # 4 batches/epoch
    with pytest.raises(TrainingDiverged, match=where):
        trainer.fit(module, datamodule=data)
    # Batch 5 poisons mid-epoch 1 (caught by the next loss); batch 7 is epoch 1's last batch
    # (no further step: caught by the weight check before the epoch-end checkpoint).
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    # Written at the end of epoch 0 (4 batches, 2 optimizer steps each), never after the NaN.
    assert (saved["epoch"], saved["global_step"]) == (0, 8)
    weights = [
        v for k, v in saved["state_dict"].items() if k.startswith(("generator.", "discriminator."))
    ]
    assert weights and all(torch.isfinite(v).all() for v in weights)


def test_a_diverging_run_exits_3_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    monkeypatch.setattr(sys, "argv", ["dcgan-train", "data=random", "trainer=fast", "logger=csv",
                                      "model.g_optimizer.lr=1e30", "metrics=none"])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        train.main()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_info.value.code == 3
    assert len(err) == 1 and err[0].startswith("dcgan-train: error: training diverged at step ")


@pytest.mark.slow  # a sweep; test_a_diverging_run_exits_3 stays
def test_a_diverged_sweep_job_is_marked_and_the_others_go_on(tmp_path: Path) -> None:
    result = run_cli(["dcgan-train", "-m", "data=random", "trainer=fast", "logger=csv",
                      "metrics=none", "model.g_optimizer.lr=0.0002,1e30"], tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]  # a sweep with a failed job
    assert "error: 1 of 2 jobs failed (jobs 1;" in result.stderr.strip().splitlines()[-1]
    (sweep,) = [p for p in tmp_path.glob("outputs/multiruns/*/*") if p.is_dir()]
    assert [j.status for j in read_sweep(sweep)] == ["completed", "diverged"]
    assert run_cli(["dcgan-report", str(sweep)], tmp_path).returncode == 0
    assert "DIVERGED" in (sweep / "report" / "report.md").read_text()


def test_off_the_cpu_the_check_waits_for_a_log_step_and_still_never_saves_a_nan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a GPU: the non-finite flag stays on the device between checks. A step checkpoint
    # every two optimizer steps would save the NaN unless the save itself checks the flag.
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    module = keras_module(width=4, latent_dim=8, g_optimizer=adam, d_optimizer=adam)
    monkeypatch.setattr(DivergenceWatch, "host_reads_free", staticmethod(lambda device: False))
    monkeypatch.setattr(module_file, "logs_this_step", lambda trainer: False)
    real_loss, calls = module.loss.discriminator_real, []

    def nan_at_batch_5(logits: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return real_loss(logits) * (float("nan") if len(calls) == 6 else 1.0)

    monkeypatch.setattr(module.loss, "discriminator_real", nan_at_batch_5)
    steps = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, filename="last", every_n_train_steps=2)
    trainer = pl.Trainer(
        max_epochs=5, limit_val_batches=0, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", callbacks=[steps],
    )  # fmt: skip
    data = ImageDataModule(RandomImages(n_train=64, n_val=8), batch_size=16)
    with pytest.raises(TrainingDiverged, match="train/d_loss=nan"):
        trainer.fit(module, datamodule=data)
    assert len(calls) == 6  # stopped by batch 5's own checkpoint save, not a later check
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 10  # after batch 4; batch 5's save (NaN weights) refused
    weights = [v for k, v in saved["state_dict"].items() if k.startswith("discriminator.")]
    assert weights and all(torch.isfinite(v).all() for v in weights)
