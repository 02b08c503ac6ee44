"""Checkpoints rebuild their networks; older ones load; another architecture is refused."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch

from dcgan_lab.errors import UserError
from dcgan_lab.models.upsample_conv import NearestUpsampleConv2d
from dcgan_lab.runs.checkpoints import require_same_architecture, upgrade_checkpoint
from dcgan_lab.training.loading import load_module
from dcgan_lab.training.module import DCGANModule
from tests.conftest import keras_module


def save(module, path: Path, hparams: dict | None = None) -> Path:
    saved = dict(module.hparams) if hparams is None else hparams
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": saved}
    torch.save(checkpoint, path)
    return path


def test_a_checkpoint_rebuilds_a_conditional_dcgan(tmp_path: Path) -> None:
    from dcgan_lab.models import DCGANDiscriminator, DCGANGenerator

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
                          ema={"decay": 0.999, "warmup": 10})  # fmt: skip
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
    with pytest.raises(UserError, match=r"the checkpoint names os\.system to build, which is not"):
        load_module(save(module, tmp_path / "evil.ckpt", hparams))


def test_lightning_load_from_checkpoint_rebuilds_the_networks(tmp_path: Path) -> None:
    import pytorch_lightning as pl

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


def biased_like(layer: torch.nn.Module, bias: torch.Tensor) -> torch.nn.Module:
    """``layer`` (a bias-free Linear or fused conv) with a bias, as G had it before."""
    biased: torch.nn.Linear | NearestUpsampleConv2d
    if isinstance(layer, torch.nn.Linear):
        biased = torch.nn.Linear(layer.in_features, layer.out_features)
    else:
        assert isinstance(layer, NearestUpsampleConv2d)
        biased = NearestUpsampleConv2d(layer.in_channels, layer.out_channels)
    biased.load_state_dict({"weight": layer.weight.detach().clone(), "bias": bias})
    return biased


def test_a_generator_with_biases_before_its_batchnorms_loads_as_the_same_function() -> None:
    """Those biases (BatchNorm cancels them in training) fold into the running means."""
    torch.manual_seed(0)
    new = keras_module(width=8, latent_dim=16, fused_upsample=True, ema={"decay": 0.999})
    old = keras_module(width=8, latent_dim=16, fused_upsample=True, ema={"decay": 0.999})
    assert old.generator_ema is not None and new.generator_ema is not None
    assert set(new.generator.folded_biases()) == {"project.0", "upsample.1"}
    for layer, norm in new.generator.folded_biases().items():
        for generator in (old.generator, old.generator_ema.module):
            before = generator.get_submodule(layer)
            out_features = before.get_parameter("weight").shape[0]
            parent, index = layer.split(".")
            stage = generator.get_submodule(parent)
            assert isinstance(stage, torch.nn.Sequential)
            stage[int(index)] = biased_like(before, torch.randn(out_features) * 0.1)
            running_mean = generator.get_submodule(norm).get_buffer("running_mean")
            running_mean.normal_()  # as if trained a while
    checkpoint = {"state_dict": old.state_dict(), "hyper_parameters": dict(new.hparams)}
    assert "generator.project.0.bias" in checkpoint["state_dict"]
    new.on_load_checkpoint(checkpoint)
    new.load_state_dict(checkpoint["state_dict"])  # strict: no bias left over
    z = torch.randn(6, 16)
    for mode in ("eval", "train"):  # running statistics, then the batch's
        for old_g, new_g in ((old.generator, new.generator),
                             (old.generator_ema.module, new.generator_ema.module)):  # fmt: skip
            getattr(old_g, mode)(), getattr(new_g, mode)()
            with torch.no_grad():
                assert torch.allclose(old_g(z), new_g(z), atol=1e-5), (mode, type(old_g))


def test_a_run_with_those_biases_resumes_with_its_optimizer_state(tmp_path: Path) -> None:
    """Adam's moments are stored by parameter position: the biases' entries are dropped
    and the rest renumbered, so resuming the old layout continues as the new one does."""
    import pytorch_lightning as pl

    from dcgan_lab.data import ImageDataModule
    from dcgan_lab.data.sources import RandomImages

    def trainer(steps: int) -> pl.Trainer:
        return pl.Trainer(max_steps=steps, limit_val_batches=0, logger=False,
                          enable_checkpointing=False, enable_progress_bar=False,
                          enable_model_summary=False, accelerator="cpu")  # fmt: skip

    def data() -> ImageDataModule:
        return ImageDataModule(RandomImages(n_train=64, n_val=8), batch_size=16)

    def build() -> DCGANModule:
        torch.manual_seed(0)
        adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
        return keras_module(width=8, latent_dim=16, g_optimizer=adam, d_optimizer=adam)

    first = trainer(4)
    pl.seed_everything(0, verbose=False)
    first.fit(build(), datamodule=data())
    first.save_checkpoint(tmp_path / "new.ckpt")
    checkpoint = torch.load(tmp_path / "new.ckpt", weights_only=True)
    # The same checkpoint as the biased layout wrote it: bias b, running mean + b, and Adam
    # state at each bias's position (right after its weight).
    state, g_opt = checkpoint["state_dict"], checkpoint["optimizer_states"][0]
    names = [n for n, _ in build().generator.named_parameters()]
    for layer, norm in (("project.0", "project.1"), ("upsample.1", "upsample.2")):
        bias = torch.randn(state[f"generator.{norm}.running_mean"].shape) * 0.1
        state[f"generator.{layer}.bias"] = bias
        state[f"generator.{norm}.running_mean"] += bias
        names.insert(names.index(f"{layer}.weight") + 1, f"{layer}.bias")
    position = {name: i for i, name in enumerate(names)}
    original = [n for n, _ in build().generator.named_parameters()]
    g_opt["state"] = {position[original[i]]: v for i, v in g_opt["state"].items()}
    for name in ("project.0.bias", "upsample.1.bias"):
        moments = g_opt["state"][position["project.0.weight"]]
        g_opt["state"][position[name]] = {
            "step": moments["step"].clone(), "exp_avg": torch.ones(8), "exp_avg_sq": torch.ones(8)
        }  # fmt: skip
    g_opt["param_groups"][0]["params"] = list(range(len(names)))
    torch.save(checkpoint, tmp_path / "old.ckpt")

    resumed = {}
    for name in ("new", "old"):
        model = build()
        pl.seed_everything(1, verbose=False)
        trainer(8).fit(model, datamodule=data(), ckpt_path=tmp_path / f"{name}.ckpt")
        resumed[name] = model.generator.state_dict()
    for key, tensor in resumed["new"].items():
        atol = 1e-4 if key.endswith("running_mean") else 1e-6  # rm + b - b: float rounding
        assert torch.allclose(resumed["old"][key], tensor, atol=atol), key
