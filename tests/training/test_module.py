"""Manual optimization: one step moves both networks, each step only its own network."""

from __future__ import annotations

from functools import partial

import pytest
import pytorch_lightning as pl
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.training.losses import GANLoss
from dcgan_lab.training.module import DCGANModule
from tests.conftest import keras_module


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> list[str]:
    return [k for k, v in module.state_dict().items() if not torch.equal(before[k], v)]


def make_module() -> DCGANModule:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    return keras_module(width=8, latent_dim=16, g_optimizer=adam, d_optimizer=adam)


def fit_one_batch(module: DCGANModule, log_every_n_steps: int = 1) -> None:
    data = ImageDataModule(RandomImages(n_train=32, n_val=8), batch_size=16)
    trainer = pl.Trainer(
        max_steps=2,  # one batch = two optimizer steps in manual optimization
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        log_every_n_steps=log_every_n_steps,
    )
    trainer.fit(module, datamodule=data)
    assert trainer.global_step == 2


def test_one_training_step_changes_both_networks() -> None:
    module = make_module()
    g0, d0 = snapshot(module.generator), snapshot(module.discriminator)
    fit_one_batch(module)
    g_weights = [k for k in g0 if "running" not in k and "num_batches" not in k]
    assert set(g_weights) <= set(changed(g0, module.generator))
    assert set(d0) == set(changed(d0, module.discriminator))


def test_each_step_leaves_the_other_network_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    module = make_module()
    record: dict[str, list[str]] = {}

    def watch(step_name: str, own: torch.nn.Module, other: torch.nn.Module) -> None:
        step = getattr(module, step_name)

        def wrapped(*args, **kwargs):
            own_before, other_before = snapshot(own), snapshot(other)
            result = step(*args, **kwargs)
            record[step_name] = changed(own_before, own)
            record[step_name + "_other"] = changed(other_before, other)
            return result

        monkeypatch.setattr(module, step_name, wrapped)

    watch("_discriminator_step", module.discriminator, module.generator)
    watch("_generator_step", module.generator, module.discriminator)
    fit_one_batch(module)
    assert record["_discriminator_step"], "D step did not update D"
    assert record["_discriminator_step_other"] == [], "D step changed G"
    assert record["_generator_step"], "G step did not update G"
    assert record["_generator_step_other"] == [], "G step changed D"
    # After the G step D has no stale gradients from G's loss (its params were frozen).
    assert all(p.requires_grad for p in module.discriminator.parameters())


def test_fixed_noise_is_a_buffer_saved_in_the_state_dict() -> None:
    module = make_module()
    assert "fixed_noise" in module.state_dict()
    assert module.fixed_noise.shape == (64, 16)


def test_training_logs_losses_and_discriminator_probabilities() -> None:
    module = make_module()
    fit_one_batch(module)
    logged = module.trainer.callback_metrics
    for name in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"):
        assert name in logged and torch.isfinite(logged[name])
    assert 0.0 < float(logged["train/d_real"]) < 1.0
    assert 0.0 < float(logged["train/d_fake"]) < 1.0


def test_losses_are_logged_only_on_the_steps_lightning_writes() -> None:
    module = make_module()
    fit_one_batch(module, log_every_n_steps=50)  # step 1 of 50: nothing will be written
    assert "train/d_loss" not in module.trainer.callback_metrics


@pytest.mark.parametrize("num_classes", [0, 10])
def test_real_and_fake_share_one_discriminator_pass_with_the_same_logits(num_classes: int) -> None:
    # Dropout 0: D is deterministic, so the joined pass must give each batch's own logits.
    module = keras_module(dropout=0.0, num_classes=num_classes)
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    labels = torch.arange(4) if num_classes else None
    calls: list[int] = []
    module.discriminator.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    joined = module.objective.critic_each({"real": real, "fake": fake}, labels, joined=True)
    assert calls == [8]  # one pass over both batches
    for kind, images in (("real", real), ("fake", fake)):
        torch.testing.assert_close(joined[kind][0], module.discriminator(images, labels))


@pytest.mark.parametrize(
    ("network", "d_step", "passes"),
    [
        ("keras", 1, [8]),  # no BatchNorm, no R1 this step: one joined pass
        ("keras", 0, [4, 4]),  # R1's step (every 4th): apart, its double backward is cheaper
        ("dcgan", 1, [4, 4]),  # BatchNorm: a joined batch would change its statistics
        ("keras+minibatch_std", 1, [4, 4]),  # joined, real and fake would share groups
    ],
)
def test_which_discriminator_steps_join_real_and_fake(
    network: str, d_step: int, passes: list[int]
) -> None:
    from dcgan_lab.models.dcgan import DCGANDiscriminator, DCGANGenerator

    side = 32 if network == "dcgan" else 28
    lazy_r1 = GANLoss(r1_weight=1.0, r1_every=4)  # as the default config: D steps 0, 4, 8...
    if network == "dcgan":
        g, d = DCGANGenerator(16, 8, 1, side), DCGANDiscriminator(8, 0.0, 1, side)
        module = DCGANModule(g, d, loss=lazy_r1)
    else:
        module = keras_module(loss=lazy_r1, minibatch_std=4 if "minibatch" in network else 0)
    assert module.discriminator.batch_independent == (network == "keras")
    calls: list[int] = []
    module.discriminator.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    module.manual_backward = torch.Tensor.backward  # type: ignore[method-assign]
    opt = torch.optim.Adam(module.discriminator.parameters(), lr=2e-4)
    real, fake = torch.rand(4, 1, side, side), torch.rand(4, 1, side, side)
    stats = module._discriminator_step(opt, real, fake, None, batch_idx=d_step)  # type: ignore[arg-type]
    assert calls == passes
    assert torch.isfinite(stats["train/d_loss"])
