"""Advice in an error line is a command that works: each is followed here and run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dcgan_lab.cli.train import train
from dcgan_lab.errors import user_error_in
from tests.training.test_batches_of_one import grey_pngs

QUICK = ["trainer=fast", "logger=csv", "metrics=none"]


def refusal(compose_train, *overrides: str) -> str:
    with pytest.raises(Exception) as caught:
        train(compose_train(*QUICK, *overrides))
    found = user_error_in(caught.value)
    assert found is not None, caught.value
    return str(found)


@pytest.mark.parametrize(
    ("overrides", "advice"),
    [
        (["model=dcgan", "data.image_size=20"], r"set (data\.image_size=\d+)"),
        pytest.param(["model=dcgan", "data.image_size=28"], r"set (data\.image_size=\d+)",
                     marks=pytest.mark.slow),  # the same advice as the row above
        pytest.param(["data.image_size=30"], r"set (data\.image_size=\d+)",
                     marks=pytest.mark.slow),  # the same key, from the keras networks
        (["loss=acgan", "data=folder", "data.source.root={pngs}", "data.channels=1",
          "data.image_size=28", "data.batch_size=8"], r"use (loss=\w+)"),
    ],
)  # fmt: skip
def test_followed_advice_trains(compose_train, tmp_path: Path, overrides, advice) -> None:
    pngs = grey_pngs(tmp_path / "pngs", 40)
    overrides = [o.replace("{pngs}", str(pngs)) for o in overrides]
    line = refusal(compose_train, *overrides)
    found = re.search(advice, line)
    assert found is not None, line
    key = found.group(1).split("=")[0]
    followed = [o for o in overrides if o.split("=")[0] != key] + [found.group(1)]
    train(compose_train(*QUICK, *followed))  # no error: the advice was enough


def test_evaluating_a_run_whose_data_folder_moved(tmp_path: Path, monkeypatch, capsys) -> None:
    """The refusal names data_root=, and following it scores the run."""
    from omegaconf import OmegaConf

    from dcgan_lab.cli import evaluate
    from tests.cli.test_errors import run_main, save_checkpoint, the_one_error_line

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    pngs = grey_pngs(tmp_path / "moved_here", 40)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    save_checkpoint(run / "checkpoints" / "last.ckpt")
    source = {"_target_": "dcgan_lab.data.folder.ImageFolder", "root": str(tmp_path / "was_here"),
              "channels": 1, "image_size": 28, "val_fraction": 0.2}  # fmt: skip
    data = {
        "_target_": "dcgan_lab.data.ImageDataModule",
        "name": "folder",
        "batch_size": 8,
        "source": source,
    }
    OmegaConf.save({"data": data}, run / "config.yaml")
    fast = ["metrics.extractor_steps=20", "metrics.n_fake=16", "metrics.kid_subset_size=4",
            "copies=0", f"paths.cache_dir={tmp_path / 'cache'}",
            f"out={tmp_path / 'e.json'}"]  # fmt: skip
    code = run_main(evaluate, [f"ckpt_path={run}", *fast], monkeypatch)
    line = the_one_error_line(code, capsys, "dcgan-eval", "is not there: if it moved, add")
    found = re.search(r"add (data_root)=", line)
    assert found is not None
    monkeypatch.setattr("sys.argv", ["dcgan-eval", f"ckpt_path={run}", *fast, f"data_root={pngs}"])
    evaluate.main()  # returns: scored
    assert (tmp_path / "e.json").is_file()
