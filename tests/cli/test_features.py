"""dcgan-features: trains and caches a dataset's FID extractor, then reads it back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dcgan_lab.cli import features
from tests.conftest import offline_env, run_cli


def test_features_trains_once_then_reads_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    env = offline_env(tmp_path) | {"DCGAN_LAB_CACHE": str(tmp_path / "cache")}
    args = ["dcgan-features", "data=random", "metrics.extractor_steps=20"]
    first = run_cli(args, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "random: classifier, held-out accuracy" in first.stdout
    (weights,) = (tmp_path / "cache").glob("classifier-random-*-v2.pt")
    mtime = weights.stat().st_mtime_ns
    # Again, in this process (the entry point's own main; a second process would only add
    # its 7 s of imports): the cache is read, nothing is trained.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DCGAN_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "argv", args)
    features.main()
    assert "training the feature extractor" not in capsys.readouterr().err
    assert weights.stat().st_mtime_ns == mtime  # read from the cache, not trained again
