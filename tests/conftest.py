"""Shared fixtures: compose the real conf/, on the CPU, with outputs in a temp dir."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from filelock import FileLock
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

import dcgan_lab.metrics as metrics_package
from dcgan_lab.cli.common import config_dir
from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.sources import Mnist5k
from dcgan_lab.metrics.extractor import load_or_train
from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.training.module import DCGANModule

CONF = Path(config_dir())

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores: one torch thread each (and in the commands they start), or
    # each would use both cores and the two would fight over them.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
EXTRACTOR_STEPS = 200  # ~97% held-out accuracy on mnist5k in about 15 s on 2 cores
# Scores each epoch in seconds: an extractor of 30 steps (enough on data=random), 64 fakes.
FAST_METRICS = ["metrics.extractor_steps=30", "metrics.n_fake=64"]


def session_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str) -> Path:
    """A folder of this test session that its xdist workers share (their own temp folders
    lie side by side in one session folder)."""
    if worker_id == "master":  # no xdist
        return tmp_path_factory.mktemp(name)
    folder = tmp_path_factory.getbasetemp().parent / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def mnist5k(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The mnist5k data, its extractor (the run's classifier) and the extractor's cache folder.

    The extractor is trained once and kept in pytest's cache folder until the code that
    defines and trains it (the metrics package) or EXTRACTOR_STEPS changes: a hash of both
    names the folder, and the data's own hash is part of the cache's key. A fresh clone, as
    in CI, trains it. Under xdist the first worker trains it, the others wait on the lock
    and read it."""
    data = ImageDataModule(Mnist5k(), name="mnist5k")
    code = hashlib.sha256(str(EXTRACTOR_STEPS).encode())
    for source in sorted(Path(metrics_package.__file__).parent.glob("*.py")):
        code.update(source.read_bytes())
    cache = request.config.cache.mkdir(f"mnist5k-{code.hexdigest()[:12]}")
    with FileLock(cache.with_suffix(".lock")):
        classifier, info = load_or_train("mnist5k", data.loaded(), cache, EXTRACTOR_STEPS)
    return data, classifier, info, cache


@pytest.fixture
def compose_train(tmp_path: Path) -> Iterator[Callable[..., DictConfig]]:
    """compose_train('width=wide', ...) -> the composed train config, outputs under tmp_path."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):

        def _compose(*overrides: str) -> DictConfig:
            return compose(
                "train",
                overrides=[
                    f"paths.output_dir={tmp_path / 'run'}",
                    "trainer.accelerator=cpu",
                    *overrides,
                ],
            )

        yield _compose
    GlobalHydra.instance().clear()


@functools.cache
def bomb_png() -> bytes:
    """A PNG of 20000 x 20000 black pixels: a few hundred kB that unpack to 400 MB, over
    PIL's pixel limit (encoded once a session: that takes seconds)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


def offline_env(home: Path) -> dict[str, str]:
    """Environment of a user with no W&B login (HOME without a netrc) and no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(home), NETRC=str(home / ".netrc"), HYDRA_FULL_ERROR="0")
    return env


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """Run a console script of this package (by module, so the venv's python is used)."""
    module = {
        "dcgan-train": "dcgan_lab.cli.train",
        "dcgan-sample": "dcgan_lab.cli.sample",
        "dcgan-eval": "dcgan_lab.cli.evaluate",
        "dcgan-features": "dcgan_lab.cli.features",
        "dcgan-report": "dcgan_lab.cli.report",
        "dcgan-export": "dcgan_lab.cli.export",
        "dcgan-demo": "dcgan_lab.cli.demo",
    }[args[0]]
    return subprocess.run(
        [sys.executable, "-m", module, *args[1:]],
        cwd=cwd,
        env=env or offline_env(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def keras_module(
    width: int = 8,
    latent_dim: int = 16,
    num_classes: int = 0,
    dropout: float = 0.3,
    spectral_norm: bool = False,
    fused_upsample: bool = False,
    image_size: int = 28,
    label_norm: bool = False,
    minibatch_std: int = 0,
    **module_options: Any,
) -> DCGANModule:
    """A DCGANModule on the keras networks, built as conf/model/keras.yaml builds them."""
    conditional, classes = bool(num_classes), num_classes or None
    generator = KerasGenerator(
        latent_dim, width, image_size=image_size, fused_upsample=fused_upsample,
        conditional=conditional, num_classes=classes, label_norm=label_norm,
    )  # fmt: skip
    discriminator = KerasDiscriminator(
        width, dropout, image_size=image_size, spectral_norm=spectral_norm,
        conditional=conditional, num_classes=classes, minibatch_std=minibatch_std,
    )  # fmt: skip
    return DCGANModule(generator, discriminator, conditional=bool(num_classes), **module_options)


@pytest.fixture(scope="session")
def conditional_digits(mnist5k, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A conditional checkpoint whose generator draws recognisable digits of each class.

    G is trained by L1 regression onto real digits of the requested class (300 steps, about
    10 s) instead of adversarially (minutes, and no promise of every class). Like GAN
    training, its BatchNorms learn on batches of mixed labels: the condition under which
    sampling one class at a time on batch statistics draws the wrong digits. Trained once a
    session, in a folder its xdist workers share.
    """
    path = session_folder(tmp_path_factory, worker_id, "digits") / "conditional_digits.ckpt"
    with FileLock(path.with_suffix(".lock")):
        if not path.is_file():
            train_conditional_digits(mnist5k[0], path)
    return path


def train_conditional_digits(data: ImageDataModule, path: Path) -> None:
    """The fixture's G, trained and saved as a checkpoint at ``path``."""
    splits = data.loaded()
    images, labels = to_signed_unit(splits.train_images), splits.train_labels
    module = keras_module(width=16, latent_dim=16, num_classes=10)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.generator.parameters(), 2e-3)
    module.generator.train()
    for _ in range(300):
        pick = torch.randint(len(images), (64,))
        fake = module.generator(torch.randn(64, 16), labels[pick])  # (64, 1, 28, 28)
        loss = (fake - images[pick]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": pl.__version__}, path)  # fmt: skip
