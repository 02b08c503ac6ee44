"""Old spellings of renamed keys and groups still work, with a one-line note each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from dcgan_lab.cli import train
from dcgan_lab.runs.renamed_keys import modernise
from dcgan_lab.runs.resume import replayable_overrides


@pytest.mark.parametrize(
    ("old", "today"),
    [
        ("optimizers=sgd", "optimizer_pair=sgd"),
        ("model.ema_decay=0.5", "model.ema.decay=0.5"),
        ("+model.ema_span=0", "+model.ema.span=0"),
        ("~model.score_raw", "~model.ema.score_raw"),
        ("model.compile=true", "model.speed.compile=true"),
        ("model.channels_last=false", "model.speed.channels_last=false"),
        ("optimizer_pair=sgd", "optimizer_pair=sgd"),  # today's spellings pass unchanged
        ("model.ema.decay=0.5", "model.ema.decay=0.5"),
        ("optimizer@model.g_optimizer=sgd", "optimizer@model.g_optimizer=sgd"),
    ],
)
def test_old_spellings_become_todays(old: str, today: str) -> None:
    overrides, notes = modernise([old])
    assert overrides == [today]
    assert len(notes) == (old != today)


def test_dcgan_train_runs_old_spellings_with_a_note_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    old = ["optimizers=sgd", "model.ema_decay=0.5", "model.channels_last=false"]
    monkeypatch.setattr(sys, "argv", ["dcgan-train", "--cfg", "job", *old])
    train.main()
    out, err = capsys.readouterr()
    model = yaml.safe_load(out)["model"]
    assert model["g_optimizer"]["_target_"] == model["d_optimizer"]["_target_"] == "torch.optim.SGD"
    assert model["ema"]["decay"] == 0.5 and model["speed"]["channels_last"] is False
    notes = [line for line in err.splitlines() if line.startswith("dcgan-train: note: ")]
    assert len(notes) == 3 and "optimizers is now optimizer_pair" in notes[0]


def test_a_resumed_run_replays_its_old_spellings_in_todays(tmp_path: Path) -> None:
    recorded = tmp_path / "overrides.yaml"
    recorded.write_text(yaml.safe_dump(["optimizers=ttur", "model.ema_warmup=5", "width=wide"]))
    assert replayable_overrides(recorded) == ["optimizer_pair=ttur", "model.ema.warmup=5",
                                              "width=wide"]  # fmt: skip
