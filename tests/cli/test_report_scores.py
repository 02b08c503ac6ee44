"""dcgan-report --scores: dcgan-eval's scores over draws in place of one-draw validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_sweeps import write_finished_job
from tests.conftest import run_cli

VALIDATION = {"precision": 0.5, "recall": 0.5, "recognisable": 0.5, "class_share_min": 0.01,
              "class_share_max": 0.3, "copy_rate": 0.09}  # fmt: skip


def seeds_sweep(root: Path, seeds: int = 3) -> Path:
    """A finished sweep of one setting over seeds 1..n, each job's validation at its best FID
    (epoch 1) equal to VALIDATION: a table that shows these did not read --scores."""
    sweep = root / "sweep"
    for seed in range(1, seeds + 1):
        write_finished_job(sweep / str(seed - 1), ["technique=ada", f"seed={seed}"],
                           [300.0, 60.0, 70.0], [VALIDATION] * 3)  # fmt: skip
    return sweep


def eval_row(checkpoint: str, draws: int = 10, **scores: float) -> dict[str, Any]:
    """A row as dcgan-eval writes it (only the keys the report reads, plus its protocol)."""
    return {"checkpoint": checkpoint, "data": "mnist5k", **scores, "protocol": {"draws": draws}}


def seed_rows(checkpoint: str = "last.ckpt", draws: int = 10) -> list[dict[str, Any]]:
    """Rows for jobs 0-2 with paths relative to the sweep's parent, as dcgan-eval run from
    there writes them."""
    rows = []
    for n in range(3):
        scores = {"fid": 40.0 + n, "fid_sd": 2.0 + n, "precision": 0.80 + 0.02 * n,
                  "precision_sd": 0.01 * (n + 1), "recall": 0.85, "recall_sd": 0.02,
                  "recognisable": 0.95, "coverage": 0.9, "class_share_min": 0.08,
                  "class_share_max": 0.12, "copy_rate": 0.02 + 0.01 * n}  # fmt: skip
        rows.append(eval_row(f"sweep/{n}/checkpoints/{checkpoint}", draws, **scores))
    return rows


def report(root: Path, *args: str) -> tuple[int, str, str]:
    """Runs dcgan-report from another folder than dcgan-eval's; (exit code, report, stderr)."""
    elsewhere = root / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = run_cli(["dcgan-report", str(root / "sweep"), *args], cwd=elsewhere)
    path = root / "sweep" / "report" / "report.md"
    return result.returncode, path.read_text() if path.is_file() else "", result.stderr


def test_the_across_seeds_table_reads_each_seeds_mean_over_draws(tmp_path: Path) -> None:
    seeds_sweep(tmp_path)
    rows = seed_rows()
    rows[0]["fid"], rows[2]["fid"] = 42.0, 40.0  # job 2 ranks first, job 0 last
    (tmp_path / "eval.json").write_text(json.dumps(rows))
    code, text, stderr = report(tmp_path, "--scores", str(tmp_path / "eval.json"))
    assert code == 0, stderr
    row = ("| (defaults) | 3 | 41.0 ± 1.0 | 0.820 ± 0.020 | 0.850 ± 0.000 | 0.950 ± 0.000 | "
           "0.080 - 0.120 | 0.030 ± 0.010 | 2.00 |")  # fmt: skip
    assert row in text
    assert "0.500" not in text  # no validation score reached the table
    source = "Scores of each job's last.ckpt from dcgan-eval, the mean over 10 draw(s) of the "
    source += "images; median sd across draws: FID 3.0, precision 0.020, recall 0.020."
    assert source in text
    # the jobs table: dcgan-eval's FID beside validation's best, and its precision
    assert "| eval FID | precision | recall | coverage | copy rate |" in text
    assert "| 3 | 0 | 1 | completed | 60.00 | 70.00 | 42.00 | 0.80 | 0.85 | 0.90 | 0.02 |" in text
    # ranked by dcgan-eval's FID, not validation's (60.0 for every job)
    ranks = [line.split("|")[1:3] for line in text.splitlines() if "| completed |" in line]
    assert [(rank.strip(), job.strip()) for rank, job in ranks] == [("1", "2"), ("2", "1"),
                                                                    ("3", "0")]  # fmt: skip
    assert "Best: job 2 (seed=3), eval FID 40.00 (41.00 for the next best, 1)." in text
    picture = tmp_path / "sweep" / "report" / "precision_recall.png"
    assert picture.stat().st_size > 1000 and "(precision_recall.png)" in text


def test_without_scores_the_table_says_it_holds_one_validation_draw(tmp_path: Path) -> None:
    seeds_sweep(tmp_path)
    code, text, stderr = report(tmp_path)
    assert code == 0, stderr
    assert "| (defaults) | 3 | 60.0 ± 0.0 | 0.500 ± 0.000 |" in text
    assert "best-FID validation (what best.ckpt holds), one draw each; `--scores`" in text
    assert "eval FID" not in text


def test_a_job_the_scores_lack_is_named_and_left_out(tmp_path: Path) -> None:
    seeds_sweep(tmp_path)
    (tmp_path / "eval.json").write_text(json.dumps(seed_rows()[:2]))
    code, text, stderr = report(tmp_path, "--scores", str(tmp_path / "eval.json"))
    assert code == 0, stderr
    assert "Not scored, so left out: jobs 2." in text
    assert "| 3 | 2 | 3 | completed | 60.00 | 70.00 | - | - |" in text  # ranked last
    assert "| (defaults) | 2 | 40.5 ± 0.7 | 0.810 ± 0.014 |" in text


def test_scores_may_come_in_several_files(tmp_path: Path) -> None:
    seeds_sweep(tmp_path)
    rows = seed_rows()
    (tmp_path / "a.json").write_text(json.dumps(rows[:1]))
    (tmp_path / "b.json").write_text(json.dumps(rows[1:]))
    code, text, stderr = report(tmp_path, "--scores", str(tmp_path / "a.json"),
                                str(tmp_path / "b.json"))  # fmt: skip
    assert code == 0, stderr
    assert "| (defaults) | 3 | 41.0 ± 1.0 |" in text


def other_sweep(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rows[0] | {"checkpoint": "outputs/other/0/checkpoints/last.ckpt"}]


FOLDER = object()  # --scores naming a folder

BAD_SCORES = [
    ("missing", None, "--scores {tmp}/eval.json: no such file; make it with dcgan-eval "
     "ckpt_path={tmp}/sweep draws=10 cas=0 copies=0 out={tmp}/eval.json"),
    ("not JSON", "fid,precision\n1,2\n", "--scores {tmp}/eval.json cannot be read "
     "(JSONDecodeError); give the JSON that dcgan-eval wrote (its out=)"),
    ("a folder", FOLDER, "--scores {tmp}/eval.json cannot be read (Is a directory); give the "
     "JSON that dcgan-eval wrote (its out=)"),
    ("bad bytes", b"\xff\xfe[", "--scores {tmp}/eval.json cannot be read (UnicodeDecodeError); "
     "give the JSON that dcgan-eval wrote (its out=)"),
    ("an empty list", [], "--scores {tmp}/eval.json is not dcgan-eval output (a JSON list of "
     "rows, each with checkpoint and fid); give the file its out= wrote"),
    ("a dict", {"fid": 1.0}, "--scores {tmp}/eval.json is not dcgan-eval output"),
    ("a row without fid", [{"checkpoint": "sweep/0/checkpoints/last.ckpt"}],
     "--scores {tmp}/eval.json is not dcgan-eval output"),
    ("a row with fid as text", [eval_row("sweep/0/checkpoints/last.ckpt") | {"fid": "41"}],
     "--scores {tmp}/eval.json is not dcgan-eval output"),
    ("another sweep's checkpoint", other_sweep(seed_rows()), "--scores {tmp}/eval.json scores "
     "outputs/other/0/checkpoints/last.ckpt, not a checkpoint of {tmp}/sweep's jobs; score "
     "this sweep: dcgan-eval ckpt_path={tmp}/sweep"),
    ("a samples file's row", [eval_row("theirs.npz", fid=50.0)], "--scores {tmp}/eval.json "
     "scores theirs.npz, not a checkpoint of {tmp}/sweep's jobs"),
    ("a job scored twice", seed_rows() + seed_rows("best.ckpt")[:1],
     "--scores scores job 0 twice (sweep/0/checkpoints/best.ckpt); give each job's checkpoint "
     "once"),
    ("best and last mixed", seed_rows()[:2] + seed_rows("best.ckpt")[2:],
     "--scores mixes best.ckpt over 10 draw(s), last.ckpt over 10 draw(s); score every job "
     "alike (one checkpoint=, one draws=)"),
    ("draws mixed", seed_rows()[:2] + seed_rows(draws=1)[2:],
     "--scores mixes last.ckpt over 1 draw(s), last.ckpt over 10 draw(s)"),
]  # fmt: skip


@pytest.mark.parametrize("content, message", [case[1:] for case in BAD_SCORES],
                         ids=[case[0] for case in BAD_SCORES])  # fmt: skip
def test_bad_scores_give_one_line_and_keep_the_earlier_report(
    tmp_path: Path, content: object, message: str
) -> None:
    seeds_sweep(tmp_path)
    assert report(tmp_path)[0] == 0
    earlier = (tmp_path / "sweep" / "report" / "report.md").read_bytes()
    scores = tmp_path / "eval.json"
    if content is FOLDER:
        scores.mkdir()
    elif isinstance(content, bytes):
        scores.write_bytes(content)
    elif isinstance(content, str):
        scores.write_text(content)
    elif content is not None:
        scores.write_text(json.dumps(content))
    code, _, stderr = report(tmp_path, "--scores", str(scores))
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("dcgan-report: error: " + message.replace("{tmp}", str(tmp_path)))
    assert (tmp_path / "sweep" / "report" / "report.md").read_bytes() == earlier
