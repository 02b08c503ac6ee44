"""A batch of one image anywhere (a held-out split of one, a last validation batch of one)
trains in every sampling mode, and too few held-out images get advice that works."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan_lab.cli.train import train
from dcgan_lab.errors import UserError

FOLDER = ["data=folder", "data.channels=1", "data.image_size=28", "data.batch_size=8",
          "trainer=fast", "logger=csv"]  # fmt: skip


def grey_pngs(root: Path, n: int = 13) -> Path:
    """n grey PNGs; 13: 12 to train on, 1 held out (data.source.val_fraction=0.1)."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / f"{i}.png")
    return root


@pytest.mark.parametrize("bn", ["standing", "batch", "running"])
def test_a_held_out_batch_of_one_image_trains(compose_train, tmp_path: Path, bn: str) -> None:
    root = grey_pngs(tmp_path / "images")
    cfg = compose_train(*FOLDER, f"data.source.root={root}", "metrics=none",
                        f"model.bn_sampling={bn}")  # fmt: skip
    train(cfg)
    assert (Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt").is_file()


def test_the_advice_for_too_few_held_out_images_is_a_command_that_works(
    compose_train, tmp_path: Path
) -> None:
    root = grey_pngs(tmp_path / "images", 40)  # 4 held out; the scores need 6
    args = [*FOLDER, f"data.source.root={root}", "metrics.extractor_steps=10",
            "metrics.n_fake=16", "metrics.kid_subset_size=2"]  # fmt: skip
    with pytest.raises(UserError, match="the held-out split has 4 images") as refused:
        train(compose_train(*args))
    advice = re.search(r"add (data\.source\.val_fraction=[0-9.]+)", str(refused.value))
    assert advice is not None, refused.value
    scores = train(compose_train(*args, advice.group(1)))
    assert np.isfinite(scores["val/fid"])
