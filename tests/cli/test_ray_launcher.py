"""hydra/launcher=ray on a real local Ray cluster: a head on 127.0.0.1 with two workers
(two CPUs: two jobs at a time); a 4-job sweep with one job failing on purpose."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcgan_lab.report.collect import read_sweep
from tests.conftest import free_port, offline_env, run_cli

TINY = ["data=random", "trainer=fast", "metrics=none", "logger=csv", "threads=1"]


def ray(*args: str, env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).with_name("ray")), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(address, environment) of a running local cluster; stopped afterwards."""
    # Single-machine mode: Ray keeps every address on the loopback interface (it otherwise
    # swaps 127.0.0.1 for the machine's network address); it refuses a second node there,
    # so the head itself runs the two workers.
    env = {**offline_env(tmp_path), "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # fmt: skip
    address = f"127.0.0.1:{free_port()}"
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    try:
        ray("start", "--head", f"--port={address.split(':')[1]}", "--num-cpus=2",
            "--include-dashboard=false", *common, env=env)  # fmt: skip
        yield address, env
    finally:
        ray("stop", "--force", env=env)


@pytest.mark.slow  # a real cluster and four jobs: 90 s on 2 cores (nox -s slow)
def test_a_sweep_on_a_ray_cluster_keeps_each_jobs_folder_status_and_failure_count(
    cluster, tmp_path: Path
) -> None:
    address, env = cluster
    on_cluster = ["hydra/launcher=ray", f"hydra.launcher.ray.init.address={address}"]
    result = run_cli(
        ["dcgan-train", "-m", *on_cluster, *TINY, "model.discriminator.dropout=0.1,0.2,0.3,1.5"],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert "Ray Launcher is launching 4 jobs" in result.stdout + result.stderr
    assert result.returncode == 1, result.stderr[-3000:]
    (sweep,) = [p for p in tmp_path.glob("outputs/multiruns/*/*") if p.is_dir()]
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"dcgan-train: error: 1 of 4 jobs failed (jobs 3; their status.json and train.log "
        f"in {sweep.relative_to(tmp_path)} say why)"
    )
    jobs = {job.name: job for job in read_sweep(sweep)}
    assert [jobs[n].status for n in "0123"] == ["completed", "completed", "completed", "failed"]
    for n in "012":
        assert (sweep / n / "csv" / "metrics.csv").stat().st_size > 0
        assert (sweep / n / "checkpoints" / "last.ckpt").is_file()
    assert (
        "model.discriminator.dropout=1.5 must be a number in [0, 1)"
        in (sweep / "3" / "status.json").read_text()
    )


def test_a_cluster_that_does_not_answer_is_one_line_before_any_job(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli(
        ["dcgan-train", "-m", "hydra/launcher=ray", f"hydra.launcher.ray.init.address={address}",
         *TINY, "seed=1,2"],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"dcgan-train: error: hydra.launcher.ray.init.address={address}: no Ray cluster answers "
        f"there; start its head first (ray start --head --port={address.split(':')[1]})"
    )
    assert not list(tmp_path.glob("outputs/multiruns/*/*/*/status.json"))
