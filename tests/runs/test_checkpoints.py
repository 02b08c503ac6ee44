"""Checkpoints rebuild their networks; older ones load; another architecture is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dcgan_lab.cli.sample import load_module
from dcgan_lab.errors import UserError
from dcgan_lab.runs.checkpoints import require_same_architecture, upgrade_checkpoint
from tests.conftest import keras_module


def save(module, path: Path, hparams: dict | None = None) -> Path:
    saved = dict(module.hparams) if hparams is None else hparams
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": saved}
    torch.save(checkpoint, path)
    return path


def test_a_checkpoint_rebuilds_a_conditional_dcgan(tmp_path: Path) -> None:
    from dcgan_lab.models import DCGANDiscriminator, DCGANGenerator
    from dcgan_lab.training.module import DCGANModule

    nets = {"conditional": True, "num_classes": 3, "channels": 3, "image_size": 16}
    module = DCGANModule(DCGANGenerator(latent_dim=5, width=4, **nets),
                         DCGANDiscriminator(width=4, **nets), conditional=True)  # fmt: skip
    loaded = load_module(save(module, tmp_path / "c.ckpt"))
    assert type(loaded.generator) is DCGANGenerator and loaded.num_classes == 3
    for name, tensor in module.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def old_hparams() -> dict:
    """Hyperparameters as the first layout saved them: the networks' sizes as flat keys."""
    return {
        "latent_dim": 16, "width": 8, "g_width": None, "d_width": 12, "dropout": 0.3,
        "channels": 1, "image_size": 28, "n_fixed_samples": 64, "compile": False,
        "channels_last": False, "fused_upsample": True, "spectral_norm": True,
        "augment": None, "ema_decay": 0.999, "ema_warmup": 10, "bn_sampling": "batch",
    }  # fmt: skip


def test_checkpoints_of_the_first_layout_load(tmp_path: Path) -> None:
    # The first layout's parameter names are today's keras networks' names.
    module = keras_module(width=8, latent_dim=16, spectral_norm=True, fused_upsample=True,
                          ema_decay=0.999, ema_warmup=10)  # fmt: skip
    module.discriminator = keras_module(width=12, spectral_norm=True).discriminator
    path = save(module, tmp_path / "old.ckpt", old_hparams())
    loaded = load_module(path)
    assert loaded.generator.spec()["width"] == 8
    assert loaded.discriminator.spec()["width"] == 12
    assert loaded.discriminator.spec()["spectral_norm"] is True
    assert torch.equal(
        loaded.state_dict()["generator.project.0.weight"],
        module.state_dict()["generator.project.0.weight"],
    )


def test_upgrade_leaves_todays_checkpoints_alone() -> None:
    module = keras_module()
    checkpoint = {"state_dict": {}, "hyper_parameters": dict(module.hparams)}
    assert upgrade_checkpoint(checkpoint)["hyper_parameters"] == dict(module.hparams)


def test_another_architecture_is_refused_naming_the_settings() -> None:
    saved = keras_module(width=8)
    now = keras_module(width=16)
    checkpoint = {"state_dict": saved.state_dict(), "hyper_parameters": dict(saved.hparams)}
    with pytest.raises(UserError) as caught:
        require_same_architecture(checkpoint, now.hparams, now.state_dict())
    message = str(caught.value)
    assert "model.generator.width=8 (now 16)" in message
    assert "model.discriminator.width=8 (now 16)" in message
    assert "\n" not in message


def test_a_checkpoint_cannot_name_a_foreign_callable(tmp_path: Path) -> None:
    module = keras_module()
    hparams = dict(module.hparams)
    hparams["generator"] = {"_target_": "os.system", "command": "echo pwned"}
    with pytest.raises(UserError, match=r"names os\.system to build; not loading it"):
        load_module(save(module, tmp_path / "evil.ckpt", hparams))


def test_lightning_load_from_checkpoint_rebuilds_the_networks(tmp_path: Path) -> None:
    import pytorch_lightning as pl

    from dcgan_lab.training.module import DCGANModule

    module = keras_module(width=8, latent_dim=6, num_classes=3)
    path = tmp_path / "l.ckpt"
    torch.save(
        {
            "state_dict": module.state_dict(),
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )
    loaded = DCGANModule.load_from_checkpoint(path, weights_only=True)
    assert loaded.num_classes == 3 and loaded.latent_dim == 6
    assert torch.equal(loaded.fixed_noise, module.fixed_noise)
