"""The GPU path as a user runs it (`trainer=gpu`): opt in with `nox -s gpu` on a CUDA machine.

The default session deselects these (marker ``gpu``); without a CUDA device they skip."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.metrics.build import build_sample_quality
from tests.conftest import EXTRACTOR_STEPS, FAST_METRICS, offline_env, run_cli

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="trainer=gpu needs a CUDA device"),
]

# Two short epochs on the random data set (2 classes), scored with a quickly trained extractor.
SHORT = ["trainer.max_epochs=2", "trainer.limit_train_batches=20",
         "trainer.limit_val_batches=2", "data=random", "logger=csv", *FAST_METRICS]  # fmt: skip


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_a_gpu_run_scores_each_epoch_and_samples_where_no_gpu_is(
    tmp_path: Path, precision: str
) -> None:
    run_dir = tmp_path / "run"
    train = run_cli(["dcgan-train", "trainer=gpu", f"trainer.precision={precision}", *SHORT,
                     f"hydra.run.dir={run_dir}"], cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    with (run_dir / "csv" / "metrics.csv").open() as table:
        fids = [float(row["val/fid"]) for row in csv.DictReader(table) if row.get("val/fid")]
    assert len(fids) == 2 and all(math.isfinite(fid) and fid > 0 for fid in fids)
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu")
    rng = next(state for name, state in checkpoint["callbacks"].items() if "RNGState" in name)
    assert "cuda" in rng  # it trained on the GPU: the CUDA generator's state was saved
    # A machine without a GPU draws from it: the weights load onto the CPU.
    cpu_only = {**offline_env(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    sample = run_cli(["dcgan-sample", f"ckpt_path={run_dir}", "label=1", "n=10",
                      f"out_dir={tmp_path / 'samples'}"], cwd=tmp_path, env=cpu_only)  # fmt: skip
    assert sample.returncode == 0, sample.stderr[-2000:]
    with np.load(tmp_path / "samples" / "samples_10.npz") as saved:
        assert saved["images"].shape == (10, 28, 28) and saved["images"].std() > 0
        assert saved["labels"].tolist() == [1] * 10


def test_scoring_leaves_the_gpu_generator_where_training_left_it(mnist5k) -> None:
    """Each epoch's scoring must not rewind the GPU's generator: training's noise and dropout
    masks would then repeat every epoch, and D learns the masks instead of the images."""
    data, _, _, cache = mnist5k
    quality, _ = build_sample_quality(data, cache_dir=cache, extractor_steps=EXTRACTOR_STEPS,
                                      n_fake=64)  # fmt: skip
    quality.to("cuda")
    torch.cuda.manual_seed(7)
    before = torch.cuda.get_rng_state()
    fakes = to_signed_unit(data.loaded().train_images[:64]).cuda()
    quality.add_fake(fakes)
    scores = quality.compute()
    assert math.isfinite(scores["kid_mean"]) and math.isfinite(scores["fid"])
    assert torch.equal(torch.cuda.get_rng_state(), before)
