"""DDP on the CPU: lockstep ranks, metrics over the union of ranks, rank-0-only outputs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dcgan_lab.metrics.classifier import DomainClassifier, FrozenView
from dcgan_lab.metrics.quality import FeatureSpace, SampleQuality
from tests.conftest import run_cli

LATENT = 16


def quality_on_fixed_features() -> SampleQuality:
    torch.manual_seed(0)  # the same untrained extractor in every process
    classifier = DomainClassifier()
    space = FeatureSpace(
        FrozenView(classifier, "features"), FrozenView(classifier, "logits"), lambda x: x, False
    )
    quality = SampleQuality(space, n_fake=400, kid_subsets=5, kid_subset_size=100)
    real = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    quality.set_real(real)
    return quality


def fixed_generator(noise: torch.Tensor) -> torch.Tensor:
    """(N, LATENT) -> (N, 1, 28, 28): a fixed smooth map, the same in every process."""
    basis = torch.randn(LATENT, 28 * 28, generator=torch.Generator().manual_seed(2))
    return torch.tanh(noise @ basis).view(-1, 1, 28, 28)


def score_as_rank(rank: int, world_size: int, store: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    try:
        quality = quality_on_fixed_features()
        quality.shard(rank, world_size)
        assert int(quality.fid.real_features_num_samples) == 150  # this rank's half
        scores = quality.score(fixed_generator, LATENT, torch.device("cpu"), batch_size=100)
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(scores))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two spawned ranks; trainer=ddp_cpu is opt-in
def test_scores_over_two_ranks_equal_one_process_scoring_the_same_samples(
    tmp_path: Path,
) -> None:
    mp.spawn(score_as_rank, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    single = quality_on_fixed_features().score(
        fixed_generator, LATENT, torch.device("cpu"), batch_size=100
    )
    assert ranks[0] == ranks[1]  # every rank logs the same numbers
    assert ranks[0]["n_fake"] == single["n_fake"] == 400
    assert ranks[0]["n_real"] == single["n_real"] == 300
    for name in ("fid", "is"):
        assert ranks[0][name] == pytest.approx(single[name], rel=1e-5), name
    # KID is a small difference of large kernel means: float32 rounding of features
    # extracted in other batch sizes moves it by well under 1%.
    assert ranks[0]["kid_mean"] == pytest.approx(single["kid_mean"], rel=2e-2)


@pytest.mark.slow  # 2-process training; the DDP scoring test stays
def test_ddp_cpu_trains_in_lockstep_and_only_rank_zero_writes(tmp_path: Path) -> None:
    args = [
        "trainer=ddp_cpu", "trainer.max_epochs=2", "data=random", "trainer.limit_train_batches=4",
        "metrics.extractor_steps=30", "metrics.n_fake=128", f"paths.cache_dir={tmp_path / 'c'}",
    ]  # fmt: skip
    result = run_cli(["dcgan-train", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = [p.parent for p in tmp_path.glob("outputs/runs/*/*/config.yaml")]
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    with open(run / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    drift = [float(r["train/replica_drift"]) for r in rows if r["train/replica_drift"]]
    assert drift == [0.0, 0.0]  # identical weights on both ranks after each epoch
    assert [r["epoch"] for r in rows if r["val/fid"]] == ["0", "1"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 2 * 4 * 2  # 2 epochs x 4 batches a rank x (D, G)
    assert len(list(run.glob("wandb/offline-run-*"))) == 1
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_000.png",
        "epoch_001.png",
        "progress.gif",
        "progress.mp4",
    ]  # one grid an epoch and one animation, from rank 0 alone
    assert os.environ.get("WORLD_SIZE") is None  # the test process itself stayed single
