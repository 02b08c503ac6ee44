"""Speed switches change how the maths runs, not what it computes or how it is saved."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.models.upsample_conv import NearestUpsampleConv2d
from dcgan_lab.training.module import DCGANModule
from dcgan_lab.training.precision import precision_notice
from tests.conftest import keras_module


def module(**switches: Any) -> DCGANModule:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    return keras_module(width=8, latent_dim=16, g_optimizer=adam, d_optimizer=adam, **switches)


def fit(model: DCGANModule, **trainer_kwargs: object) -> pl.Trainer:
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        max_steps=4, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
        log_every_n_steps=1, **trainer_kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    trainer.fit(model, datamodule=ImageDataModule(RandomImages(n_train=64, n_val=8), batch_size=16))
    return trainer


def test_channels_last_computes_the_same_function_and_trains() -> None:
    plain, nhwc = module(), module(speed={"channels_last": True})
    nhwc.configure_model()
    conv = nhwc.generator.get_submodule("upsample.1")
    assert isinstance(conv, torch.nn.Conv2d)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    z = torch.randn(8, 16)
    with torch.no_grad():
        images = plain.generator(z)
        assert torch.allclose(images, nhwc.generator(z), atol=1e-5)
        nhwc_input = images.contiguous(memory_format=torch.channels_last)
        plain.eval(), nhwc.eval()
        assert torch.allclose(
            plain.discriminator(images), nhwc.discriminator(nhwc_input), atol=1e-5
        )
    trainer = fit(nhwc)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(trainer.callback_metrics["train/g_loss"])


def test_bf16_mixed_precision_trains_with_finite_losses() -> None:
    model = module()
    dense = model.generator.get_submodule("project.0")
    assert isinstance(dense, torch.nn.Linear)
    before = dense.weight.detach().clone()
    trainer = fit(model, precision="bf16-mixed")
    assert dense.weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(before, dense.weight)
    for name in ("train/d_loss", "train/g_loss"):
        assert torch.isfinite(trainer.callback_metrics[name])


@pytest.mark.slow
def test_compile_keeps_parameter_names_and_trains() -> None:
    model = module(speed={"compile": True})
    keys = set(module().state_dict())
    fit(model)
    assert set(model.state_dict()) == keys  # checkpoints load into an uncompiled module
    assert torch.isfinite(model.trainer.callback_metrics["train/g_loss"])


@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_upsample_conv_matches_upsample_then_conv_in_values_and_gradients(
    channels_last: bool,
) -> None:
    torch.manual_seed(0)
    fused = NearestUpsampleConv2d(6, 5)
    plain = torch.nn.Conv2d(6, 5, kernel_size=5, padding=2)
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(3, 6, 7, 9)  # odd, non-square sides exercise every border
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        for conv in (fused, plain):
            conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
    x_fused, x_plain = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_fused = fused(x_fused)
    out_plain = plain(torch.nn.functional.interpolate(x_plain, scale_factor=2, mode="nearest"))
    assert out_fused.shape == (3, 5, 14, 18)
    assert torch.allclose(out_fused, out_plain, atol=1e-5)
    upstream = torch.randn_like(out_plain)
    (out_fused * upstream).sum().backward()
    (out_plain * upstream).sum().backward()
    assert x_fused.grad is not None and x_plain.grad is not None
    assert torch.allclose(x_fused.grad, x_plain.grad, atol=1e-4)
    assert fused.bias is not None and plain.bias is not None
    for a, b in ((fused.weight, plain.weight), (fused.bias, plain.bias)):
        assert a.grad is not None and b.grad is not None
        assert torch.allclose(a.grad, b.grad, atol=1e-4)


def test_fused_upsample_keeps_checkpoints_and_computes_the_same_generator() -> None:
    plain, fused = module(), module(fused_upsample=True)
    assert isinstance(fused.generator.get_submodule("upsample.1"), NearestUpsampleConv2d)
    assert set(plain.state_dict()) == set(fused.state_dict())
    fused.load_state_dict(plain.state_dict())  # a checkpoint of either loads into the other
    plain.eval(), fused.eval()
    z = torch.randn(8, 16)
    with torch.no_grad():
        assert torch.allclose(plain.generator(z), fused.generator(z), atol=1e-5)
    trainer = fit(fused)
    assert torch.isfinite(trainer.callback_metrics["train/g_loss"])


@pytest.mark.parametrize(
    ("accelerator", "precision", "native", "max_time", "notice"),
    [
        ("cpu", "bf16-mixed", False, None, "no native bf16"),  # emulated: about 10x slower
        ("cpu", "bf16-true", False, "00:00:10:00", "no native bf16"),
        ("cpu", "bf16-mixed", True, "00:00:10:00", None),  # AVX-512 BF16 or AMX: as asked
        ("cpu", "32-true", False, "00:00:10:00", None),  # nothing faster on this CPU
        ("cpu", "32-true", True, "00:00:10:00", "experiment=bf16_cpu spends them"),  # in budget
        ("cpu", "32", True, "00:00:10:00", "runs bf16 natively"),
        ("cpu", "32-true", True, None, None),  # no budget: speed buys no quality
        ("cpu", "16-mixed", True, "00:00:10:00", None),  # the user chose a half precision
        ("gpu", "bf16-mixed", False, None, None),  # the CPU's abilities do not matter there
        ("gpu", "32-true", True, "00:00:10:00", None),
    ],
)  # fmt: skip
def test_precision_notice_names_what_this_cpu_does_with_bf16(
    accelerator: str, precision: str, native: bool, max_time: str | None, notice: str | None
) -> None:
    trainer = OmegaConf.create(
        {"accelerator": accelerator, "precision": precision, "max_time": max_time}
    )
    line = precision_notice(trainer, native)
    if notice is None:
        assert line is None, line
    else:
        assert line is not None and notice in line
        assert "trainer.precision=" in line  # the key that changes it
