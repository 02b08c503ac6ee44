"""Faults during a run: SIGKILL, Ctrl-C, a full disk, an unwritable output dir."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dcgan_lab.cli import train
from dcgan_lab.errors import UserError
from dcgan_lab.runs.checkpoint_io import atomic_torch_save
from tests.cli.test_errors import run_main
from tests.conftest import offline_env, run_cli
from tests.wandb_records import read_run

STEPS_PER_EPOCH = 60  # 30 batches of 32 x (D step, G step)
LONG_RUN = [
    "data=random", "data.source.n_train=960", "trainer=fast", "trainer.limit_train_batches=30",
    "metrics=none",
    "checkpoint_every_n_steps=4", "trainer.max_epochs=3",
]  # fmt: skip


def as_at_a_terminal() -> None:
    """Deliver SIGINT as a terminal does: a test run started in the background (nohup, CI
    runners) ignores SIGINT, children inherit that, and Python then installs no handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_training(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dcgan_lab.cli.train", *args],
        cwd=cwd,
        env=offline_env(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_at_a_terminal,
    )


def wait_for_checkpoint(cwd: Path, proc: subprocess.Popen[str], timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(cwd.glob("outputs/runs/*/*/checkpoints/last.ckpt"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.slow  # a killed run and its resume
def test_sigkill_mid_epoch_then_resume_finishes_the_run(tmp_path: Path) -> None:
    proc = start_training(tmp_path, *LONG_RUN, "logger=csv")
    ckpt = wait_for_checkpoint(tmp_path, proc)
    proc.kill()  # SIGKILL: no handler runs
    proc.wait(timeout=30)
    saved = torch.load(ckpt, weights_only=True)  # complete, although written during a kill
    assert 0 < saved["global_step"] < 3 * STEPS_PER_EPOCH
    assert saved["global_step"] % STEPS_PER_EPOCH != 0  # a step checkpoint, mid-epoch
    run = ckpt.parent.parent
    assert json.loads((run / "status.json").read_text())["status"] == "running"  # killed

    resumed = run_cli(["dcgan-train", "ckpt_path=last"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    final = torch.load(ckpt, weights_only=True)
    assert final["global_step"] == 3 * STEPS_PER_EPOCH and final["epoch"] == 2
    assert not list(run.glob("checkpoints/.*tmp*"))


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)]
)
def test_ctrl_c_or_sigterm_saves_a_checkpoint_finishes_wandb_and_exits_130(
    tmp_path: Path, signum: int
) -> None:
    proc = start_training(tmp_path, *LONG_RUN, "trainer.max_epochs=50", "logger=default")
    ckpt = wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("dcgan-train: training interrupted at step ")
    assert f"resume with: dcgan-train ckpt_path={ckpt.resolve()}" in last_line
    step = int(last_line.split("at step ")[1].split()[0])
    assert torch.load(ckpt, weights_only=True)["global_step"] == step  # saved on the interrupt
    run = ckpt.parent.parent
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    (wandb_log,) = run.glob("wandb/offline-run-*/*.wandb")
    assert read_run(wandb_log).finished


def test_checkpoint_write_on_a_full_disk_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    real_save = torch.save
    calls = []

    def save_then_fill_the_disk(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return real_save(obj, f, *args, **kwargs)
        f.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", save_then_fill_the_disk)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    run_dir = tmp_path / "run"
    args = ["data=random", "trainer=fast", "metrics=none", "logger=csv", f"hydra.run.dir={run_dir}"]
    code = run_main(train, args, monkeypatch)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert err == [
        f"dcgan-train: error: cannot write checkpoint {run_dir}/checkpoints/last.ckpt: "
        "No space left on device; the previous checkpoint is intact "
        "(free disk space or choose a writable hydra.run.dir)"
    ]
    monkeypatch.setattr(torch, "save", real_save)
    kept = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert kept["epoch"] == 0  # the epoch-0 checkpoint, whole
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["last.ckpt"]
    assert json.loads((run_dir / "status.json").read_text())["status"] == "failed"


def test_atomic_save_replaces_the_file_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "x.ckpt"
    atomic_torch_save({"v": torch.ones(3)}, path)
    atomic_torch_save({"v": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path)["v"], torch.zeros(3))
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(UserError, match=r"x.ckpt: .*; nothing was written"):
        atomic_torch_save({"v": 1}, tmp_path / "a-file" / "x.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "x.ckpt"]


def test_unwritable_output_dir_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    code = run_main(train, [f"hydra.run.dir={tmp_path}/a-file/run", "trainer=fast"], monkeypatch)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"dcgan-train: error: cannot write {tmp_path}/a-file")
    assert "choose a writable hydra.run.dir" in err[0]


@pytest.mark.parametrize(
    ("delay", "signum"),
    [
        (1.0, signal.SIGINT),
        # SIGTERM takes the same path as Ctrl-C (runs/test_faults' checkpoint test, the
        # default session's SIGINT row): the other rows run with nox -s slow
        pytest.param("after config", signal.SIGTERM, marks=pytest.mark.slow),
        pytest.param("after config", signal.SIGINT, marks=pytest.mark.slow),
    ],
)
def test_ctrl_c_before_training_says_nothing_was_trained(tmp_path: Path, delay, signum) -> None:
    """Ctrl-C while torch loads, or Ctrl-C or SIGTERM while the data and extractor load:
    one line, exit 130, and no temporary file left in the extractor's cache."""
    proc = start_training(tmp_path, "trainer=fast", "data=random", "metrics.extractor_steps=5000")
    if delay == "after config":  # Hydra has made the run folder: the app is running
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("outputs/runs/*/*/.hydra/config.yaml")):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(1.0)  # now training the feature extractor
    else:
        time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130, err
    assert len(lines) == 1 and "nothing was trained or saved" in lines[0], err
    assert not list(tmp_path.glob("outputs/runs/*/*/checkpoints"))
    assert not list(tmp_path.glob("outputs/runs/*/*/train.log"))
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name or p.suffix == ".partial"]


@pytest.mark.slow  # a process of its own (7 s of imports) for one SIGPIPE edge
def test_help_piped_into_a_closed_reader_is_quiet(tmp_path: Path) -> None:
    proc = start_training(tmp_path, "--help")
    assert proc.stdout is not None
    proc.stdout.close()  # `dcgan-train --help | head -0`: the reader is gone before any output
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == 141


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root and a kernel that allows the mount)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_disk_gives_one_line_and_keeps_the_previous_checkpoint(
    small_filesystem: Path,
) -> None:
    target = small_filesystem / "checkpoints" / "last.ckpt"
    atomic_torch_save({"state_dict": {"w": torch.ones(10)}}, target)  # the previous one
    big = {"state_dict": {"w": torch.ones(512, 1024)}}  # 2 MiB: more than the disk holds
    with pytest.raises(UserError) as caught:
        atomic_torch_save(big, target)
    assert str(caught.value) == (
        f"cannot write checkpoint {target}: No space left on device; the previous checkpoint "
        "is intact (free disk space or choose a writable hydra.run.dir)"
    )
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]  # no temporary file
    assert torch.equal(torch.load(target, weights_only=True)["state_dict"]["w"], torch.ones(10))


@pytest.mark.parametrize("multirun", [True, False])
def test_a_failed_job_returns_what_every_sweeper_accepts(tmp_path: Path, monkeypatch, multirun):
    """In a sweep a failed job returns None (Optuna's sweeper records a failed trial; a NaN
    made it raise) and says so in one line; alone, it raises."""
    from omegaconf import OmegaConf

    from dcgan_lab.errors import TrainingDiverged
    from dcgan_lab.runs import status

    monkeypatch.setattr(status, "in_multirun", lambda: multirun)
    cfg = OmegaConf.create({"paths": {"output_dir": str(tmp_path)}, "optimized_metric": "x"})

    def diverging(cfg, on_start):
        on_start()
        raise TrainingDiverged("training diverged at step 4")

    if not multirun:
        with pytest.raises(TrainingDiverged):
            status.run_recorded(cfg, diverging)
        return
    assert status.run_recorded(cfg, diverging) is None
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "diverged"


def test_importing_the_package_as_a_library_installs_no_signal_handler() -> None:
    # The handlers before and after the import (a shell's background job starts with SIGINT
    # ignored; the import must leave whatever it finds).
    code = ("import signal; before = [signal.getsignal(s) for s in (2, 15)]; "
            "import dcgan_lab.cli; "  # where an entry point's loading handler lives
            "print([signal.getsignal(s) is b for s, b in zip((2, 15), before)])")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[True, True]", result.stderr[-2000:]


def test_an_entry_point_called_from_python_leaves_the_handlers_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcgan_lab.cli import sample

    monkeypatch.chdir(tmp_path)
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert run_main(sample, ["mode=draw"], monkeypatch) == 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
