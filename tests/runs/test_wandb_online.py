"""The W&B online path end to end, against a stub W&B server on the loopback address.

Two logged-in users train at once with the stub reachable: one leaves the mode to the
project (online), one ran `wandb offline` in their project folder (offline, and the stub
hears nothing from that run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_METRICS, offline_env
from tests.wandb_stub import StubRecord, wandb_stub_server

# A stub W&B server and three runs against it: about 40 s (nox -s slow); the offline mode
# choice and its settings are tested in test_wandb_logger.py.
pytestmark = pytest.mark.slow

FAST = ["trainer=fast", "data=random", "logger.wandb.project=p1"]
SCORED = FAST_METRICS
API_KEY = "k" * 40  # W&B checks the length only


@pytest.fixture(scope="module")
def stub_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[StubRecord, StubRecord, dict[str, Path], dict[str, str]]:
    folders = {who: tmp_path_factory.mktemp(who) for who in ("online", "offline")}
    (folders["offline"] / "wandb").mkdir()
    (folders["offline"] / "wandb" / "settings").write_text("[default]\nmode = offline\n")
    with wandb_stub_server() as (url, heard), wandb_stub_server() as (url_b, heard_b):
        procs = {}
        for who, base, extra in (("online", url, SCORED), ("offline", url_b, ["metrics=none"])):
            env = offline_env(folders[who])
            env.update(WANDB_API_KEY=API_KEY, WANDB_BASE_URL=base)
            procs[who] = subprocess.Popen(
                [sys.executable, "-m", "dcgan_lab.cli.train", *FAST, *extra],
                cwd=folders[who],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        outputs = {who: proc.communicate(timeout=300)[0] for who, proc in procs.items()}
    assert {who: proc.returncode for who, proc in procs.items()} == dict.fromkeys(procs, 0), outputs
    return heard, heard_b, folders, outputs


def test_logged_in_with_a_server_the_run_reaches_it(stub_runs) -> None:
    heard, _, folders, outputs = stub_runs
    assert "W&B: offline" not in outputs["online"]
    (run,) = heard.operation_vars("UpsertBucket")[:1]
    assert run["project"] == "p1"
    assert run["displayName"] == (  # Hydra's override_dirname
        "data=random,logger.wandb.project=p1,metrics.extractor_steps=30,metrics.n_fake=64,trainer=fast"
    )
    assert not list(folders["online"].glob("outputs/runs/*/*/wandb/offline-run-*"))
    assert heard.exit_codes == [0]  # wandb.finish ran with success


def test_the_dashboard_gets_losses_scores_and_images_on_one_step_axis(stub_runs) -> None:
    heard, _, _, _ = stub_runs
    losses = [row["trainer/global_step"] for row in heard.history if "train/d_loss" in row]
    scores = [row["trainer/global_step"] for row in heard.history if "val/fid" in row]
    images = [row["trainer/global_step"] for row in heard.history if "samples" in row]
    assert losses == list(range(8))  # trainer=fast: 2 epochs of 4 batches
    assert images == scores == [3, 7]
    uploaded = [name for name in heard.uploads if name.startswith("media/images/samples_")]
    assert len(uploaded) == 2 and all(heard.uploads[name] > 1000 for name in uploaded)
    assert [n for n in heard.uploads if n.startswith("media/videos/progress_")]  # the animation
    fids = [row["val/fid"] for row in heard.history if "val/fid" in row]
    assert heard.summary["val/fid"] == {"min": pytest.approx(min(fids))}  # define_metric


def test_wandb_offline_in_the_project_folder_wins_over_a_reachable_server(stub_runs) -> None:
    _, heard_b, folders, outputs = stub_runs
    assert heard_b.requests == 0
    assert "W&B: offline (set in " in outputs["offline"]
    assert len(list(folders["offline"].glob("outputs/runs/*/*/wandb/offline-run-*"))) == 1
