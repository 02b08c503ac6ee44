"""Hydra sweeps: W&B grouping and naming, the report, Optuna, joblib, and every sweep file."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml
from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

from dcgan_lab.report.collect import read_sweep
from dcgan_lab.report.markdown import write_report
from tests.conftest import CONF, FAST_METRICS, run_cli
from tests.wandb_records import read_run

ROOT = CONF.parent
TINY = ["data=random", "trainer=fast", *FAST_METRICS]


def sweep_dirs(cwd: Path) -> list[Path]:
    return sorted(p for p in cwd.glob("outputs/multiruns/*/*") if p.is_dir())


def csv_fids(job: Path) -> list[float]:
    with open(job / "csv" / "metrics.csv") as f:
        return [float(r["val/fid"]) for r in csv.DictReader(f) if r.get("val/fid")]


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2x2 grid, W&B offline (no login), two epochs of four batches per job."""
    cwd = tmp_path_factory.mktemp("grid")
    result = run_cli(["dcgan-train", "-m", *TINY, "width=narrow,base", "dropout=none,base"], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = sweep_dirs(cwd)
    return sweep


def test_each_job_is_its_own_wandb_run_grouped_and_named_by_overrides(grid_sweep: Path) -> None:
    jobs = sorted(p for p in grid_sweep.iterdir() if p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    group = "sweep-" + "_".join(grid_sweep.parts[-2:])
    seen = set()
    for job in jobs:
        (run_file,) = job.glob("wandb/offline-run-*/run-*.wandb")
        run = read_run(run_file)
        overrides = run.config["overrides"]
        width = next(o for o in overrides if o.startswith("width="))
        dropout = next(o for o in overrides if o.startswith("dropout="))
        assert run.group == group
        assert run.summaries.get("val/fid") == {"min"}
        assert width in run.name and dropout in run.name
        assert (
            run.config["model"]["generator"]["width"]
            == {"width=narrow": 32, "width=base": 64}[width]
        )
        assert (
            run.config["model"]["discriminator"]["dropout"]
            == {"dropout=none": 0.0, "dropout=base": 0.3}[dropout]
        )
        logged = [row["val/fid"] for row in run.history if "val/fid" in row]
        assert logged == pytest.approx(csv_fids(job))
        assert len(logged) == 2
        seen.add((width, dropout))
    assert len(seen) == 4


def csv_value(job_dir: Path, epoch: int, key: str) -> float:
    with open(job_dir / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get(key) and int(r["epoch"]) == epoch]
    return float(rows[0][key])


def test_report_lists_every_job_with_its_csv_numbers_and_plots(grid_sweep: Path) -> None:
    result = run_cli(["dcgan-report", str(grid_sweep)], cwd=grid_sweep)
    assert result.returncode == 0, result.stderr
    report_dir = grid_sweep / "report"
    text = (report_dir / "report.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "rank" not in line]
    assert len(rows) == 4
    best_column = [float(r.split("|")[6]) for r in rows]  # rank, job, dropout, width, status, best
    assert best_column == sorted(best_column)
    header = text.splitlines()[
        [line.startswith("| rank") for line in text.splitlines()].index(True)
    ]
    assert "| precision | recall | coverage | copy rate |" in header
    for job in read_sweep(grid_sweep):
        assert job.best_fid == pytest.approx(min(csv_fids(job.path)))
        assert f"| {job.name} |" in text and f"{job.best_fid:.2f}" in text
        (cells,) = [
            c for r in rows if (c := [x.strip() for x in r.split("|")[1:-1]])[1] == job.name
        ]
        best_epoch = min(job.fid_curve, key=lambda point: point[1])[0]
        precision = csv_value(job.path, best_epoch, "val/precision")  # at best.ckpt's epoch
        assert cells[7] == f"{precision:.2f}" and 0 <= precision <= 1
    for name in ("fid_curves.png", "best_fid_vs_width.png", "best_fid_vs_dropout.png",
                 "best_grid.png", "best_progress.gif"):  # fmt: skip
        assert (report_dir / name).stat().st_size > 1000


def test_a_sweep_scored_by_dcgan_eval_reports_its_scores(grid_sweep: Path, tmp_path: Path) -> None:
    """The user's path: dcgan-eval over the sweep's checkpoints, then dcgan-report --scores;
    the report's numbers checked against the JSON dcgan-eval wrote."""
    scores = tmp_path / "eval.json"
    command = ["dcgan-eval", f"ckpt_path={grid_sweep}", "checkpoint=last", "draws=2", "cas=0",
               "copies=0", *FAST_METRICS, f"out={scores}"]  # fmt: skip
    result = run_cli(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(scores.read_text())
    assert len(rows) == 4 and all(row["protocol"]["draws"] == 2 for row in rows)
    out = tmp_path / "report"
    result = run_cli(["dcgan-report", str(grid_sweep), "--out", str(out), "--scores", str(scores)],
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (out / "report.md").read_text()
    assert "Scores of each job's last.ckpt from dcgan-eval, the mean over 2 draw(s)" in text
    for row in rows:
        job = Path(row["checkpoint"]).parent.parent.name
        (line,) = [line for line in text.splitlines() if line.startswith("| ") and
                   line.split("|")[2].strip() == job]  # fmt: skip
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        # rank, job, dropout, width, status, best FID, final FID, eval FID, precision, ...
        assert cells[7] == f"{row['fid']:.2f}" and cells[8] == f"{row['precision']:.2f}"


@pytest.mark.slow  # a 3-job sweep
def test_a_failing_job_does_not_stop_the_sweep_and_is_marked(tmp_path: Path) -> None:
    result = run_cli(
        [
            "dcgan-train",
            "-m",
            *TINY,
            "logger=csv",
            "model.discriminator.dropout=0.2,1.5",
            "seed=1,2",
        ],
        tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert (
        result.stderr.count("failed: model.discriminator.dropout=1.5 must be a number in [0, 1)")
        == 2
    )
    (sweep,) = sweep_dirs(tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"dcgan-train: error: 2 of 4 jobs failed (jobs 2, 3; their status.json and train.log "
        f"in {sweep.relative_to(tmp_path)} say why)"
    )
    jobs = {j.name: j for j in read_sweep(sweep)}
    assert [jobs[n].status for n in "0123"] == ["completed", "completed", "failed", "failed"]
    assert run_cli(["dcgan-report", str(sweep)], cwd=tmp_path).returncode == 0
    text = (sweep / "report" / "report.md").read_text()
    assert text.count("FAILED") == 2 and "2 completed, 2 failed" in text


@pytest.mark.slow  # a subprocess sweep; the slow 4-job sweep test checks the count too
def test_a_sweep_whose_jobs_fail_exits_1_counting_them(tmp_path: Path) -> None:
    result = run_cli(
        ["dcgan-train", "-m", "data=random", "metrics=none", "logger=csv",
         "model.discriminator.dropout=1.5,2.0"],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("dcgan-train: error: 2 of 2 jobs failed (jobs 0, 1;")
    )


def test_report_reads_a_sweep_that_is_still_running(tmp_path: Path) -> None:
    job = tmp_path / "sweep" / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- width=wide\n")
    (job / "csv").mkdir()
    (job / "csv" / "metrics.csv").write_text(
        "epoch,step,train/d_loss,train/g_loss,val/fid\n0,9,1.2,0.8,\n0,9,,,812.5\n1,19,1.1,0.9,\n1,2"
    )
    (tmp_path / "sweep" / "1" / ".hydra").mkdir(parents=True)
    (sweep_job,) = [j for j in read_sweep(tmp_path / "sweep") if j.name == "0"]
    assert sweep_job.status == "running" and sweep_job.best_fid == 812.5 and sweep_job.epochs == 2
    result = run_cli(["dcgan-report", str(tmp_path / "sweep")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 running, 1 pending" in (tmp_path / "sweep" / "report" / "report.md").read_text()


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        (".hydra/overrides.yaml", b"\xff\xfe\x00 not yaml", "unreadable: 'utf-8' codec"),
        (".hydra/overrides.yaml", b"- [1, 2]\n", "unreadable: overrides.yaml is not a list"),
        (".hydra/overrides.yaml", b"key: [unclosed\n", "unreadable: while parsing"),
        ("csv/metrics.csv", b"epoch,val/fid\n0,\xff\xfe\n", "unreadable: 'utf-8' codec"),
        ("status.json", b'{"status": [1]}', "unreadable: status.json holds no status"),
    ],
)
def test_report_marks_a_job_with_a_bad_file_unreadable(
    tmp_path: Path, file: str, content: bytes, reason: str
) -> None:
    sweep = tmp_path / "sweep"
    write_finished_job(sweep / "0", ["width=wide"], [300.0, 200.0])
    write_finished_job(sweep / "1", ["width=narrow"], [310.0, 250.0])
    (sweep / "1" / file).parent.mkdir(parents=True, exist_ok=True)
    (sweep / "1" / file).write_bytes(content)
    jobs = {j.name: j for j in read_sweep(sweep)}
    assert jobs["0"].best_fid == 200.0
    assert jobs["1"].status == "unreadable" and (jobs["1"].error or "").startswith(reason)
    report = write_report(sweep)  # in-process: the console script has its own smoke test
    assert "UNREADABLE" in report.read_text()


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("csv/metrics.csv", "unreadable: csv/metrics.csv links outside the sweep"),
        ("status.json", "unreadable: status.json links outside the sweep"),
        (".hydra/overrides.yaml", "unreadable: .hydra/overrides.yaml links outside the sweep"),
        ("", "unreadable: the job folder links outside the sweep"),
        ("samples/epoch_001.png", None),  # not copied into the report; the job stays readable
    ],
)
def test_report_reads_and_copies_only_the_sweeps_own_files(
    tmp_path: Path, link: str, reason: str | None
) -> None:
    sweep, elsewhere = tmp_path / "sweep", tmp_path / "elsewhere"
    write_finished_job(sweep / "0", ["width=wide"], [300.0, 400.0])
    write_finished_job(elsewhere, ["width=narrow"], [310.0, 150.0])  # a better job, not ours
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG private")
    (elsewhere / "samples").mkdir()
    (elsewhere / "samples" / "epoch_001.png").write_bytes(secret.read_bytes())
    if link:
        write_finished_job(sweep / "1", ["width=narrow"], [320.0, 350.0])
        target = secret if link.endswith(".png") else elsewhere / link
        (sweep / "1" / link).parent.mkdir(parents=True, exist_ok=True)
        (sweep / "1" / link).unlink(missing_ok=True)
        (sweep / "1" / link).symlink_to(target)
    else:
        (sweep / "1").symlink_to(elsewhere, target_is_directory=True)
    jobs = {j.name: j for j in read_sweep(sweep)}
    if reason is None:
        assert jobs["1"].status == "completed" and jobs["1"].grid is None
    else:
        assert jobs["1"].status == "unreadable" and (jobs["1"].error or "") == reason
    report = write_report(sweep)
    copied = [p.read_bytes() for p in report.parent.iterdir() if p.suffix in (".png", ".gif")]
    assert secret.read_bytes() not in copied


def test_report_out_naming_a_file_gives_one_line(tmp_path: Path) -> None:
    write_finished_job(tmp_path / "sweep" / "0", ["width=wide"], [300.0])
    (tmp_path / "taken").write_text("mine")
    result = run_cli(["dcgan-report", str(tmp_path / "sweep"), "--out", str(tmp_path / "taken")],
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"dcgan-report: error: --out={tmp_path / 'taken'} is a file; give a folder path"
    ]
    assert (tmp_path / "taken").read_text() == "mine"


def write_finished_job(
    job: Path, overrides: list[str], fids: list[float], scores: list[dict[str, float]] | None = None
) -> None:
    """A completed job's files; ``scores``: val/<name> values logged beside each FID."""
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (job / "csv").mkdir()
    names = sorted({name for epoch in scores or [] for name in epoch})
    rows = "".join(
        f"{e},{e},1.0,1.0,,"
        + ",".join("" for _ in names)
        + "\n"
        + f"{e},{e},,,{fid},"
        + ",".join(str((scores or [{}] * len(fids))[e].get(n, "")) for n in names)
        + "\n"
        for e, fid in enumerate(fids)
    )
    header = ["epoch", "step", "train/d_loss", "train/g_loss", "val/fid"]
    header += [f"val/{n}" for n in names]
    (job / "csv" / "metrics.csv").write_text(",".join(header) + "\n" + rows)
    (job / "status.json").write_text('{"status": "completed"}')


def test_report_of_a_seeds_sweep_gives_mean_and_spread_per_setting(tmp_path: Path) -> None:
    finals = {("0", "1"): 100.0, ("0", "2"): 140.0, ("0", "3"): 300.0,
              ("0.99", "1"): 80.0, ("0.99", "2"): 90.0, ("0.99", "3"): 85.0}  # fmt: skip
    for n, ((decay, seed), final) in enumerate(finals.items()):
        write_finished_job(
            tmp_path / "sweep" / str(n), [f"model.ema.decay={decay}", f"seed={seed}"],
            [400.0, final],
        )  # fmt: skip
    result = run_cli(["dcgan-report", str(tmp_path / "sweep")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "sweep" / "report" / "report.md").read_text()
    assert "## Across seeds" in report
    assert "| model.ema.decay=0.99 | 3 | 85.0 ± 5.0 | 85.0 ± 5.0 | 1.12 | none |" in report
    assert "| model.ema.decay=0 | 3 | 180.0 ± 105.8 | 180.0 ± 105.8 | 3.00 | 3 |" in report


def test_report_of_a_seeds_sweep_gives_the_scores_at_each_seeds_best_fid(tmp_path: Path) -> None:
    # Epoch 1 holds each seed's best FID; the scores of epoch 2 (worse FID) must not be used.
    for seed, (precision, copies) in enumerate([(0.7, 0.02), (0.8, 0.03), (0.9, 0.04)], 1):
        at_best = {
            "precision": precision,
            "recall": 0.8,
            "recognisable": 0.9,
            "class_share_min": 0.05,
            "class_share_max": 0.15,
            "copy_rate": copies,
        }
        later = dict.fromkeys(at_best, 0.0)
        write_finished_job(tmp_path / "sweep" / str(seed), ["technique=ada", f"seed={seed}"],
                           [300.0, 50.0 + seed, 80.0], [later, at_best, later])  # fmt: skip
    result = run_cli(["dcgan-report", str(tmp_path / "sweep")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "sweep" / "report" / "report.md").read_text()
    row = "| (defaults) | 3 | 52.0 ± 1.0 | 0.800 ± 0.100 | 0.800 ± 0.000 | 0.900 ± 0.000 | "
    row += "0.050 - 0.150 | 0.030 ± 0.010 | 2.00 |"
    assert row in report


def test_report_on_a_folder_that_is_not_a_sweep_says_so(tmp_path: Path) -> None:
    result = run_cli(["dcgan-report", str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"dcgan-report: error: no jobs in {tmp_path}; expected "
        "numbered job dirs of a multirun"
    )


@pytest.mark.slow  # 3 Optuna trials
def test_optuna_search_finishes_and_writes_its_results(tmp_path: Path) -> None:
    result = run_cli(
        ["dcgan-train", "hparams_search=optuna", "hydra.sweeper.n_trials=3", "logger=csv", *TINY],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = sweep_dirs(tmp_path)
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["name"] == "optuna"
    assert set(results["best_params"]) == {
        "model.g_optimizer.lr", "model.d_optimizer.lr", "model.generator.latent_dim", "width",
        "model.discriminator.dropout",
    }  # fmt: skip
    fids = [min(csv_fids(sweep / str(n))) for n in range(3)]
    assert results["best_value"] == pytest.approx(min(fids))


@pytest.mark.slow  # 3 Optuna trials
def test_an_optuna_search_goes_on_past_a_diverged_trial(tmp_path: Path) -> None:
    """A diverged trial is a failed trial to Optuna; the study goes on to its last trial and
    the sweep ends with the failed-job count, exit 1, as grid sweeps do."""
    result = run_cli(["dcgan-train", "hparams_search=optuna", "hydra.sweeper.n_trials=3",
                      "logger=csv", *TINY,
                      "hydra.sweeper.params={model.g_optimizer.lr:'choice(1e30,2e-4)'}"],
                     tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    (sweep,) = sweep_dirs(tmp_path)
    statuses = [j.status for j in read_sweep(sweep)]
    assert len(statuses) == 3 and "diverged" in statuses and "completed" in statuses
    last = result.stderr.strip().splitlines()[-1]
    assert f"error: {statuses.count('diverged')} of 3 jobs failed" in last
    assert "Traceback" not in result.stderr
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_params"]["model.g_optimizer.lr"] == pytest.approx(2e-4)


@pytest.mark.slow  # a parallel sweep; the sequential one stays
def test_joblib_launcher_runs_jobs_in_parallel_with_their_own_wandb_config(
    tmp_path: Path,
) -> None:
    result = run_cli(["dcgan-train", "-m", "hydra/launcher=parallel", *TINY, "seed=1,2"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel" in result.stdout + result.stderr
    (sweep,) = sweep_dirs(tmp_path)
    jobs = read_sweep(sweep)
    assert [j.status for j in jobs] == ["completed", "completed"]
    for job, seed in zip(jobs, (1, 2), strict=True):
        (run_file,) = job.path.glob("wandb/offline-run-*/run-*.wandb")
        run = read_run(run_file)
        assert run.config["seed"] == seed and f"seed={seed}" in run.config["overrides"]


def covering_jobs(params: dict[str, str]) -> list[list[str]]:
    """Jobs of a grid in which every value of every swept key appears at least once (the
    longest list's length of them, the shorter lists cycled): the keys of these files do not
    interact (a group choice and a seed, or two groups of different nodes), so the whole
    product would compose the same files more often, not other ones."""
    choices = [[f"{k}={v}" for v in str(values).split(",")] for k, values in params.items()]
    longest = max(len(c) for c in choices)
    return [[c[i % len(c)] for c in choices] for i in range(longest)]


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml")))
def test_every_hparams_search_file_composes_with_every_value_it_sweeps(compose_train, name) -> None:
    compose_train(f"hparams_search={name}")
    raw = yaml.safe_load((CONF / "hparams_search" / f"{name}.yaml").read_text())
    params = raw["hydra"]["sweeper"]["params"]
    parser = OverridesParser.create()
    parsed = parser.parse_overrides([f"{k}={v}" for k, v in params.items()])
    assert len(parsed) == len(params)
    if raw["hydra"].get("sweeper", {}).get("sampler") is None:  # a grid: its jobs compose
        for job in covering_jobs(params):
            compose_train(f"hparams_search={name}", *job)


def test_slurm_launcher_config_composes(compose_train) -> None:
    cfg = compose("train", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.gpus_per_node == 1


SLOW_EXPERIMENTS = ("fashion", "paper_adam", "keras")


@pytest.mark.parametrize(
    "name",
    [  # Fashion-MNIST's 60,000 images take a while to load; paper_adam is the default step
        # with stock parts, and keras's step and layers have their unit tests in the default
        # session (training/test_keras_recipe_parts.py, models/test_conventions.py): slow
        pytest.param(p.stem, marks=[pytest.mark.slow] if p.stem in SLOW_EXPERIMENTS else [])
        for p in sorted((CONF / "experiment").glob("*.yaml"))
    ],
)
def test_every_experiment_file_runs(tmp_path: Path, name: str) -> None:
    result = run_cli(
        ["dcgan-train", f"experiment={name}", "trainer=fast", "logger=csv",
         *FAST_METRICS, "metrics.n_real=200"],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def test_wandb_sweep_command_line_is_accepted_by_the_entry_point(compose_train) -> None:
    sweep = yaml.safe_load((ROOT / "sweeps" / "wandb_sweep.yaml").read_text())
    assert sweep["command"][-1] == "${args_no_hyphens}"
    assert sweep["command"][2:4] == ["-m", "dcgan_lab.cli.train"]
    for param, spec in sweep["parameters"].items():
        for value in spec.get("values", [spec.get("min"), spec.get("max")]):
            args = create_sweep_command_args({"args": {param: {"value": value}}})
            cfg = compose_train(*args["args_no_hyphens"])
            if "." in param:
                assert math.isclose(float(OmegaConf.select(cfg, param)), float(value))
