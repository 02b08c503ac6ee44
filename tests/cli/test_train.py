"""Real runs through the console entry points, in subprocesses, offline."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from dcgan_lab.cli import evaluate
from dcgan_lab.cli.common import config_dir
from tests.conftest import FAST_METRICS, offline_env, run_cli
from tests.wandb_records import read_run

# Tiny runs; the random data set's extractor needs few steps.
FAST = ["trainer=fast", "data=random"]
ADA_ONE_THREAD = ["technique=ada", "threads=1"]  # as hparams_search=techniques runs its jobs


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("outputs/runs/*/*/config.yaml"))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], str]:
    """Two runs started at the same moment in one folder: all defaults, and CSV without metrics."""
    cwd = tmp_path_factory.mktemp("e2e")
    env = offline_env(cwd)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dcgan_lab.cli.train", *FAST, *extra],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for extra in (FAST_METRICS, ["logger=csv", "seed=7", "metrics=none", *ADA_ONE_THREAD])
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    return cwd, run_dirs(cwd), outputs[0]


@pytest.mark.slow  # a minute or more on 2 cores: nox -s slow
def test_concurrent_runs_get_their_own_dirs(two_runs) -> None:
    _, dirs, _ = two_runs
    assert len(dirs) == 2 and dirs[0] != dirs[1]
    seeds = sorted(OmegaConf.load(d / "config.yaml").seed for d in dirs)
    assert seeds == [7, 42]


def test_run_writes_config_checkpoint_grids_and_metrics_csv(two_runs) -> None:
    _, dirs, _ = two_runs
    for run in dirs:
        cfg = OmegaConf.load(run / "config.yaml")
        assert cfg.paths.output_dir == str(run.resolve()) or Path(cfg.paths.output_dir) == run
        ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
        # trainer=fast: 2 epochs of 4 batches, two optimizer steps (D, G) per batch; written at
        # the end of the last epoch (epoch index 1).
        assert ckpt["epoch"] == 1 and ckpt["global_step"] == 16
        assert "fixed_noise" in ckpt["state_dict"]
        names = {p.name for p in (run / "checkpoints").iterdir()}
        assert names == {"last.ckpt", "best.ckpt"} or names == {"last.ckpt"}
        assert len(ckpt["optimizer_states"]) == 2
        assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
            "epoch_000.png",
            "epoch_001.png",
        ]
        frames = iio.imread(run / "samples" / "progress.gif", index=None)  # the animation
        assert len(frames) == 2 and (run / "samples" / "progress.mp4").is_file()
        with open(run / "csv" / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        losses = [float(r["train/d_loss"]) for r in rows if r.get("train/d_loss")]
        assert len(losses) >= 4 and all(np.isfinite(losses))
        assert any(r.get("val/d_real") for r in rows)


def test_train_log_tells_the_runs_story(two_runs) -> None:
    _, dirs, _ = two_runs
    (scored,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").metrics is not None]
    text = (scored / "train.log").read_text()
    lines = text.splitlines()
    assert "overrides: trainer=fast data=random metrics.extractor_steps=30" in text
    assert "FID features: classifier-random-" in text  # logged before the run folder existed
    assert "W&B: offline (no W&B API key" in text
    epochs = [line for line in lines if " dcgan_lab: epoch " in line]
    assert [e.split("dcgan_lab: ")[1].split(":")[0] for e in epochs] == [
        "epoch 0 (step 8)",
        "epoch 1 (step 16)",
    ]
    assert "train/d_loss" in epochs[-1] and "val/fid " in epochs[-1]
    assert "`Trainer.fit` stopped: `max_epochs=2` reached." in text  # Lightning's own line
    assert lines[-1].endswith("run ended: finished at step 16")


def test_a_technique_preset_and_threads_reach_the_run(two_runs) -> None:
    _, dirs, _ = two_runs
    (adaptive,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").threads == 1]
    assert "torch threads: 1" in (adaptive / "train.log").read_text()
    with (adaptive / "csv" / "metrics.csv").open() as f:
        p = [float(row["train/aug_p"]) for row in csv.DictReader(f) if row.get("train/aug_p")]
    assert p and all(0.0 <= value <= 1.0 for value in p)
    saved = torch.load(adaptive / "checkpoints" / "last.ckpt", weights_only=True)
    assert float(saved["state_dict"]["ada.p"]) == pytest.approx(p[-1], abs=0.05)


def test_metrics_none_trains_without_scores_or_best_checkpoint(two_runs) -> None:
    _, dirs, _ = two_runs
    (plain,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").metrics is None]
    assert not (plain / "checkpoints" / "best.ckpt").exists()
    assert "val/fid" not in (plain / "csv" / "metrics.csv").read_text().splitlines()[0]
    (scored,) = [d for d in dirs if d != plain]
    assert (scored / "checkpoints" / "best.ckpt").is_file()


def test_wandb_goes_offline_without_a_login_and_logs_locally(two_runs) -> None:
    _, dirs, output = two_runs
    with_wandb = [d for d in dirs if (d / "wandb").exists()]
    assert len(with_wandb) == 1
    assert "W&B: offline (no W&B API key" in output
    offline_runs = list((with_wandb[0] / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    (run_file,) = offline_runs[0].glob("*.wandb")
    # Images, losses and scores share one step axis: each grid at its epoch's score step.
    history = read_run(run_file).history
    score_steps = [row["trainer/global_step"] for row in history if "val/fid" in row]
    image_steps = [row["trainer/global_step"] for row in history if "samples/count" in row]
    assert image_steps == score_steps == [3, 7]  # trainer=fast: 4 batches an epoch
    (video_step,) = [row["trainer/global_step"] for row in history if "progress/count" in row]
    assert video_step == 7  # the training animation, at the last step


def test_sample_writes_npz_and_grid_from_a_checkpoint(two_runs) -> None:
    cwd, dirs, _ = two_runs
    ckpt = dirs[0] / "checkpoints" / "last.ckpt"
    # One process (7 s of imports each): out_dir's own tests are in-process (test_sample.py)
    result = run_cli(["dcgan-sample", f"ckpt_path={ckpt}", "n=10"], cwd=cwd)
    assert result.returncode == 0, result.stderr
    (npz,) = cwd.glob("outputs/samples/*/*/samples_10.npz")  # the default out_dir
    images = np.load(npz)["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8
    assert images.min() >= 0 and images.max() <= 255 and images.std() > 0
    assert npz.with_suffix(".png").stat().st_size > 0


@pytest.mark.slow  # test_sweeps runs a multirun
def test_multirun_jobs_get_their_own_dirs_under_outputs(tmp_path: Path) -> None:
    result = run_cli(
        [
            "dcgan-train",
            "-m",
            *FAST,
            *FAST_METRICS,
            "logger=csv",
            "width=narrow,base",
            "trainer.max_epochs=1",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = sorted(tmp_path.glob("outputs/multiruns/*/*/*/checkpoints/last.ckpt"))
    assert [p.parent.parent.name for p in jobs] == ["0", "1"]
    widths = [OmegaConf.load(p.parent.parent / "config.yaml").model.generator.width for p in jobs]
    assert widths == [32, 64]


def val_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "csv" / "metrics.csv") as f:
        return [r for r in csv.DictReader(f) if r.get("val/fid")]


@pytest.mark.slow  # a 3-epoch run and its resume; test_resume covers resuming
def test_training_logs_scores_that_improve_and_resume_keeps_the_best(tmp_path: Path) -> None:
    common = [
        "data=mnist5k", "logger=csv", "trainer.limit_train_batches=40", "metrics.n_fake=300",
        "metrics.extractor_steps=400", f"paths.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    first = run_cli(["dcgan-train", *common, "trainer.max_epochs=3"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    (run,) = run_dirs(tmp_path)
    rows = val_rows(run)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for name in ("val/fid", "val/kid_mean", "val/kid_std", "val/is", "val/fid_best"):
        assert all(np.isfinite(float(r[name])) for r in rows), name
    assert all(float(r["val/n_fake"]) == 300 and float(r["val/n_real"]) == 500 for r in rows)
    fids = [float(r["val/fid"]) for r in rows]
    assert fids[-1] < fids[0]
    assert float(rows[-1]["val/fid_best"]) == pytest.approx(min(fids))
    assert (run / "checkpoints" / "best.ckpt").is_file()
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False)
    assert float(best["state_dict"]["fid_best"]) == pytest.approx(min(fids))

    resumed = run_cli(
        ["dcgan-train", *common, "trainer.max_epochs=4",
         f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"],
        cwd=tmp_path,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert run_dirs(tmp_path) == [run]  # continued in its own run dir
    rows = val_rows(run)  # metrics.csv kept and appended: epoch 3 only ran now
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    fids.append(float(rows[-1]["val/fid"]))
    assert float(rows[-1]["val/fid_best"]) == pytest.approx(min(fids))


def write_shape_folder(root: Path, n: int = 40) -> None:
    """Two classes of 20x20 RGB pictures: red squares and blue discs at random places."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for name, colour in (("disc", (40, 60, 230)), ("square", (230, 40, 40))):
        (root / name).mkdir(parents=True)
        for i in range(n):
            picture = Image.new("RGB", (20, 20), (0, 0, 0))
            x, y = rng.integers(2, 10, size=2)
            box = (int(x), int(y), int(x) + 8, int(y) + 8)
            draw = ImageDraw.Draw(picture)
            (draw.ellipse if name == "disc" else draw.rectangle)(box, fill=colour)
            picture.save(root / name / f"{i:03d}.png")


@pytest.mark.slow  # its parts run in the default session (training/test_conditional.py,
# data/test_folder.py, cli/test_evaluate.py); this joins them through the console scripts
def test_conditional_dcgan_on_an_image_folder_trains_samples_and_evaluates(tmp_path: Path) -> None:
    """The conditional path end to end: folder data, dcgan networks, label=all, dcgan-eval."""
    write_shape_folder(tmp_path / "shapes")
    run_dir = tmp_path / "run"
    train = run_cli(
        ["dcgan-train", "trainer=fast", "trainer.max_epochs=8", "trainer.limit_train_batches=1.0",
         "data=folder", f"data.source.root={tmp_path / 'shapes'}",
         "data.image_size=16", "data.batch_size=8", "model=dcgan", "model.conditional=true",
         "width=narrow", "logger=csv", *FAST_METRICS, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    config = OmegaConf.load(run_dir / "config.yaml")
    assert (config.data.channels, config.data.image_size, config.data.num_classes) == (3, 16, 2)
    grid = run_dir / "samples" / "epoch_001.png"
    from PIL import Image

    with Image.open(grid) as picture:  # a row per class: 2 rows of 8 tiles of 16 px, pad 2, x2
        assert picture.size == (2 * (8 * 18 + 2), 2 * (2 * 18 + 2))
    for label in ("all", 0, 1):  # class 0: blue discs, class 1: red squares
        sample = run_cli(["dcgan-sample", f"ckpt_path={run_dir}", f"label={label}", "n=20",
                          f"out_dir={tmp_path / f's{label}'}"], cwd=tmp_path)  # fmt: skip
        assert sample.returncode == 0, sample.stderr[-2000:]
        saved = np.load(tmp_path / f"s{label}" / "samples_20.npz")
        assert saved["images"].shape == (20, 16, 16, 3)
        colours = saved["images"].reshape(20, -1, 3).astype(float).mean(1)  # (20, RGB)
        bluer = colours[:, 2] > colours[:, 0]
        assert (bluer == (saved["labels"] == 0)).mean() >= 0.9  # the requested class's colour
    assert np.bincount(np.load(tmp_path / "sall" / "samples_20.npz")["labels"]).tolist() == [10, 10]
    evaluate = run_cli(["dcgan-eval", f"ckpt_path={run_dir}", f"out={tmp_path / 'eval.json'}",
                        "cas=200", *FAST_METRICS], cwd=tmp_path)  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    (row,) = json.loads((tmp_path / "eval.json").read_text())
    assert row["label_accuracy"] >= 0.9 and row["intra_fid"] > 0  # the run's classifier agrees
    # GAN-train: a classifier taught by 200 generated shapes sorts the real held-out ones
    assert row["cas"] >= 0.9 and row["cas_real"] >= 0.9 and row["cas_n"] == 200
    header = next(line for line in evaluate.stdout.splitlines() if line.startswith("checkpoint"))
    assert "cas" in header.split() and "cas_real" in header.split()  # columns of the table
    assert row["extractor"].startswith("classifier-folder-")


def test_the_same_checkpoint_and_seed_give_identical_scores(two_runs, tmp_path: Path) -> None:
    """dcgan-eval's protocol is reproducible: two fresh scorers, one checkpoint, same numbers."""
    _, dirs, _ = two_runs
    (scored,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").metrics is not None]
    ckpt = scored / "checkpoints" / "last.ckpt"
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        # cas=0: the Classification Accuracy Score runs in test_python_api and metrics/ (slow)
        cfg = compose("eval", overrides=[f"ckpt_path={ckpt}", *FAST_METRICS, "copies=2", "cas=0",
                                         f"paths.cache_dir={tmp_path / 'cache'}"])  # fmt: skip
    first, second = (evaluate.evaluate(ckpt, cfg, {}, tmp_path / f"out{i}", []) for i in (1, 2))
    for row in (first, second):  # the pictures' paths name their output folders
        row.pop("copies_png"), row.pop("classes_png")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["protocol"]["seed"] == 1234 and first["protocol"]["n_fake"] == 64


def test_eval_with_truncation_scores_truncated_noise_and_says_so(
    two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dcgan-eval truncation=0.5: the row and its protocol name the threshold, and the
    scores are those of other images than the untruncated row's."""
    _, dirs, _ = two_runs
    (scored,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").metrics is not None]
    rows = {}
    for name, extra in (("plain", []), ("truncated", ["truncation=0.5"])):
        out = tmp_path / f"{name}.json"
        monkeypatch.setattr("sys.argv", ["dcgan-eval", f"ckpt_path={scored}", *FAST_METRICS,
                                         "copies=0", "cas=0",
                                         f"paths.cache_dir={tmp_path / 'cache'}",
                                         f"out={out}", *extra])  # fmt: skip
        evaluate.main()
        (rows[name],) = json.loads(out.read_text())
    assert rows["plain"]["truncation"] is None
    assert rows["truncated"]["truncation"] == rows["truncated"]["protocol"]["truncation"] == 0.5
    assert rows["truncated"]["fid"] != rows["plain"]["fid"]


def test_eval_over_draws_reports_each_scores_mean_and_spread(
    two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """dcgan-eval draws=3: three draws of other noise; draw 0 is the one-draw score, the row's
    scores are the draws' means with their standard deviations, and the table shows both."""
    _, dirs, _ = two_runs
    (scored,) = [d for d in dirs if OmegaConf.load(d / "config.yaml").metrics is not None]
    rows = {}
    for draws in (1, 3):
        out = tmp_path / f"draws{draws}.json"
        monkeypatch.setattr("sys.argv", ["dcgan-eval", f"ckpt_path={scored}", *FAST_METRICS,
                                         "copies=0", "cas=0", f"draws={draws}",
                                         f"paths.cache_dir={tmp_path / 'cache'}",
                                         f"out={out}"])  # fmt: skip
        evaluate.main()
        (rows[draws],) = json.loads(out.read_text())
    one, three = rows[1], rows[3]
    assert "per_draw" not in one and "fid_sd" not in one and one["protocol"]["draws"] == 1
    assert three["protocol"]["draws"] == 3 and len(three["per_draw"]) == 3
    first = three["per_draw"][0]
    for key in ("fid", "precision", "recall", "recognisable", "copy_rate"):
        assert first[key] == pytest.approx(one[key])  # draw 0: the protocol's own noise
        values = [draw[key] for draw in three["per_draw"]]
        assert three[key] == pytest.approx(sum(values) / 3)
        assert three[f"{key}_sd"] == pytest.approx(float(np.std(values, ddof=1)))
    fids = {draw["fid"] for draw in three["per_draw"]}
    assert len(fids) == 3 and three["fid_sd"] > 0  # other images, other scores
    assert three["n_fake"] == one["n_fake"] == 64 and "n_fake_sd" not in three
    table = capsys.readouterr().out
    assert f"{three['fid']:.4g}±{three['fid_sd']:.2g}" in table
