"""dcgan-features: trains and caches a dataset's FID extractor, then reads it back."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import offline_env, run_cli


def test_features_trains_once_then_reads_the_cache(tmp_path: Path) -> None:
    env = offline_env(tmp_path) | {"DCGAN_LAB_CACHE": str(tmp_path / "cache")}
    args = ["dcgan-features", "data=random", "metrics.extractor_steps=20"]
    first = run_cli(args, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "random: classifier, held-out accuracy" in first.stdout
    (weights,) = (tmp_path / "cache").glob("classifier-random-*-v2.pt")
    mtime = weights.stat().st_mtime_ns
    again = run_cli(args, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "training the feature extractor" not in again.stderr
    assert weights.stat().st_mtime_ns == mtime  # read from the cache, not trained again
