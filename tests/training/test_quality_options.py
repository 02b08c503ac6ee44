"""The result-quality switches each change training as intended."""

from __future__ import annotations

import csv
import math
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

import dcgan_lab.training.objective as objective_module
from dcgan_lab.cli.train import train
from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.sources import RandomImages
from dcgan_lab.errors import UserError
from dcgan_lab.models import KerasDiscriminator, KerasGenerator
from dcgan_lab.models.base import add_spectral_norm
from dcgan_lab.models.sampling import generate
from dcgan_lab.report.collect import Job
from dcgan_lab.report.seeds import summarise_seeds
from dcgan_lab.runs.checkpoints import find_checkpoints
from dcgan_lab.training.augment import DiffAugment, cutout, translation
from dcgan_lab.training.ema import GeneratorEMA
from dcgan_lab.training.losses import (
    GANLoss,
    HingeLoss,
    LeastSquaresLoss,
    WassersteinGPLoss,
    gradient_penalty,
    r1_penalty,
)
from dcgan_lab.training.module import DCGANModule
from dcgan_lab.training.progress import run_progress
from dcgan_lab.training.scoring import ScoreSamples
from tests.conftest import keras_module

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.5])


def test_hinge_loss_on_known_logits() -> None:
    loss = HingeLoss()
    # D: mean(relu(1 - [2, .5])) + mean(relu(1 + [-2, .5])) = 0.25 + 0.75
    assert float(loss.discriminator(REAL, FAKE)) == pytest.approx(1.0)
    assert float(loss.generator(FAKE)) == pytest.approx(0.75)


def test_least_squares_and_wasserstein_losses_on_known_logits() -> None:
    ls = LeastSquaresLoss()
    # 0.5 * (mean([1, .25]) + mean([4, .25])) and 0.5 * mean([9, .25])
    assert float(ls.discriminator(REAL, FAKE)) == pytest.approx(0.5 * (0.625 + 2.125))
    assert float(ls.generator(FAKE)) == pytest.approx(0.5 * 4.625)
    wgan = WassersteinGPLoss()
    assert float(wgan.discriminator(REAL, FAKE)) == pytest.approx(-0.75 - 1.25)
    assert float(wgan.generator(FAKE)) == pytest.approx(0.75)


def test_one_sided_label_smoothing_targets_real_at_0_9_only() -> None:
    confident_real, confident_fake = torch.tensor([10.0]), torch.tensor([-10.0])
    plain = float(GANLoss().discriminator(confident_real, confident_fake))
    smoothed = float(GANLoss(label_smoothing=0.1).discriminator(confident_real, confident_fake))
    tiny = math.log1p(math.exp(-10))  # -log sigmoid(10)
    assert plain == pytest.approx(2 * tiny, rel=1e-2)  # float32 rounding at this scale
    # real part: -(0.9 log s(10) + 0.1 log(1 - s(10))) = 0.9 tiny + 0.1 (10 + tiny)
    assert smoothed == pytest.approx(0.9 * tiny + 0.1 * (10 + tiny) + tiny, rel=1e-5)
    assert GANLoss(label_smoothing=0.1).generator(confident_fake) == GANLoss().generator(
        confident_fake
    )  # G's target stays 1


def test_gradient_penalty_on_a_linear_critic_is_the_squared_norm_gap() -> None:
    direction = torch.randn(1, 4, 4)
    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    for norm, expected in ((3.0, 4.0), (1.0, 0.0)):
        a = direction / direction.norm() * norm  # grad of sum(a * x) is a everywhere

        def critic(x: torch.Tensor, a: torch.Tensor = a) -> torch.Tensor:
            return (x * a).flatten(1).sum(1)

        penalty = gradient_penalty(critic, real, fake)
        assert float(penalty) == pytest.approx(expected, abs=1e-5)


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm() -> None:
    # D(x) = sum(a * x) has gradient a at every image, so mean ||grad||^2 = ||a||^2.
    a = torch.randn(1, 4, 4)
    real = torch.randn(8, 1, 4, 4, requires_grad=True)
    logits = (real * a).flatten(1).sum(1)  # (8,)
    assert float(r1_penalty(logits, real)) == pytest.approx(float(a.square().sum()), rel=1e-5)
    with pytest.raises(UserError, match="r1_weight"):
        GANLoss(r1_weight=-1.0)


def test_r1_weight_flattens_d_around_real_images() -> None:
    """Training with R1 leaves D with a smaller input gradient on real images than without."""

    def real_slope(model: DCGANModule) -> float:
        images = RandomImages(n_train=320, n_val=8).load().train_images[:64]  # as fit() trains
        real = to_signed_unit(images).requires_grad_(True)  # (64, 1, 28, 28)
        model.discriminator.eval()
        return float(r1_penalty(model.discriminator(real), real))

    def trained(r1_weight: float) -> DCGANModule:
        torch.manual_seed(0)
        fast = partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999))  # D learns in 40 steps
        model = keras_module(width=8, latent_dim=16, g_optimizer=fast, d_optimizer=fast,
                            loss=GANLoss(r1_weight=r1_weight))  # fmt: skip
        fit(model, steps=40)
        return model

    assert real_slope(trained(100.0)) < 0.5 * real_slope(trained(0.0))


def test_lazy_r1_penalises_every_nth_d_step_at_n_times_the_weight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loss = GANLoss(r1_weight=2.0, r1_every=4)
    assert [loss.r1_weight_at(step) for step in range(6)] == [8.0, 0.0, 0.0, 0.0, 8.0, 0.0]
    with pytest.raises(UserError, match="r1_every"):
        GANLoss(r1_weight=1.0, r1_every=0)

    calls: list[int] = []

    def counted(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        calls.append(real.shape[0])
        return r1_penalty(real_logits, real)

    monkeypatch.setattr(objective_module, "r1_penalty", counted)  # count the double backwards
    fit(module(loss=loss), steps=16)  # 8 batches of 16
    assert calls == [16, 16]  # batches 0 and 4


def test_spectral_norm_bounds_every_discriminator_layer() -> None:
    torch.manual_seed(0)
    d = KerasDiscriminator(width=8)
    d.apply(add_spectral_norm)
    layers: list[Any] = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    with torch.no_grad():
        for layer in layers:  # weights far from unit norm
            layer.parametrizations.weight.original.mul_(50.0)
        for _ in range(30):  # power iterations run in training forwards
            d(torch.randn(4, 1, 28, 28))
    for layer in layers:
        raw = layer.parametrizations.weight.original.flatten(1)
        assert torch.linalg.matrix_norm(raw, ord=2) > 5.0
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.02)


def test_ema_follows_the_closed_form_and_warms_up() -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=4, width=2)
    ema = GeneratorEMA(g, decay=0.9, warmup=0)
    start = [p.detach().clone() for p in g.parameters()]
    ema.update_parameters(g)  # the first update copies
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    for _ in range(5):
        ema.update_parameters(g)
    for averaged, initial, current in zip(ema.module.parameters(), start, g.parameters(),
                                          strict=True):  # fmt: skip
        assert torch.allclose(averaged, current - 0.9**5, atol=1e-5)
        assert not torch.equal(averaged, current) and not torch.equal(averaged, initial)
    assert not any(p.requires_grad for p in ema.parameters())
    # Warm-up: the decay ramps from 0, so early updates follow G closely.
    warm = GeneratorEMA(g, decay=0.9, warmup=100)
    warm.update_parameters(g)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    warm.update_parameters(g)  # decay 0.9 * 1/100
    for averaged, current in zip(warm.module.parameters(), g.parameters(), strict=True):
        assert torch.allclose(averaged, current - 0.009, atol=1e-5)


@pytest.mark.parametrize(
    ("progress", "decay"),
    [
        (0.0, 0.9),  # the run's length unknown: a quarter of the 40 updates so far, 1 - 1/10
        (0.5, 0.95),  # half done: 80 updates expected, a quarter of them, 1 - 1/20
        (0.001, 0.9998),  # early in a long run: the cap is far above the decay
    ],
)
def test_ema_span_caps_the_average_at_a_fraction_of_the_expected_run(
    progress: float, decay: float
) -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=4, width=2)
    ema = GeneratorEMA(g, decay=0.9998, warmup=0, span=0.25)
    for _ in range(40):
        ema.update_parameters(g)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update_parameters(g, progress)
    for averaged, current in zip(ema.module.parameters(), g.parameters(), strict=True):
        assert torch.allclose(averaged, current - decay, atol=1e-5)


@pytest.mark.parametrize(
    ("budget_used", "progress"),
    [(None, 0.25), (0.1, 0.25), (0.6, 0.6)],  # epochs 2.5 of 10; the time budget if further
)
def test_the_run_progress_the_ema_span_follows(
    budget_used: float | None, progress: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = module()
    callbacks: list[Any] = []
    if budget_used is not None:
        timer = pl.callbacks.Timer(duration="00:00:10:00")
        monkeypatch.setattr(timer, "time_elapsed", lambda stage: 600 * budget_used)
        monkeypatch.setattr(timer, "time_remaining", lambda stage: 600 * (1 - budget_used))
        callbacks.append(timer)
    trainer = SimpleNamespace(
        max_epochs=10, num_training_batches=100, current_epoch=2, max_steps=-1, global_step=0,
        fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_idx=49)), callbacks=callbacks,
    )  # fmt: skip
    monkeypatch.setattr(type(model), "trainer", property(lambda _: trainer))
    assert run_progress(trainer) == pytest.approx(progress)  # type: ignore[arg-type]


def test_ema_loaded_from_a_checkpoint_continues_its_warmup_from_the_saved_count() -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=4, width=2)
    saved = GeneratorEMA(g, decay=0.9, warmup=100)
    for _ in range(51):
        saved.update_parameters(g)  # n_averaged 51: the next update decays by 0.9 * 51/100
    resumed = GeneratorEMA(KerasGenerator(latent_dim=4, width=2), decay=0.9, warmup=100)
    resumed.update_parameters(g)  # its own count is now 1; loading must replace it
    resumed.load_state_dict(saved.state_dict())
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    resumed.update_parameters(g)
    assert int(resumed.n_averaged) == 52
    for averaged, current in zip(resumed.module.parameters(), g.parameters(), strict=True):
        assert torch.allclose(averaged, current - 0.9 * 0.51, atol=1e-5)


def module(**options: Any) -> DCGANModule:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    return keras_module(width=8, latent_dim=16, g_optimizer=adam, d_optimizer=adam, **options)


def fit(model: DCGANModule, steps: int) -> None:
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        max_steps=steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    data = ImageDataModule(RandomImages(n_train=320, n_val=8), batch_size=16)
    trainer.fit(model, datamodule=data)


def test_training_updates_the_ema_generator_behind_the_raw_one() -> None:
    model = module(ema={"decay": 0.9, "warmup": 0})
    assert model.generator_ema is not None
    initial = [p.detach().clone() for p in model.generator.parameters()]
    fit(model, steps=20)
    ema_weights = model.generator_ema.module.parameters()
    for averaged, raw, start in zip(ema_weights, model.generator.parameters(), initial,
                                    strict=True):  # fmt: skip
        assert not torch.equal(averaged, raw)
        assert (averaged - raw).norm() < (start - raw).norm()  # tracks G
    assert bool(model.use_ema)  # samples come from the EMA until a score says otherwise
    z = torch.randn(4, 16)
    assert torch.equal(model.sample(z), generate(model.generator_ema.module, z))


def test_wgan_gp_takes_n_critic_discriminator_steps_per_generator_step() -> None:
    model = module(loss=WassersteinGPLoss(gp_weight=10.0, n_critic=5))
    fit(model, steps=12)  # 10 batches: 10 D steps + 2 G steps
    opt_g, opt_d = (o.optimizer for o in model.optimizers())  # type: ignore[union-attr]
    assert int(next(iter(opt_d.state.values()))["step"]) == 10
    assert int(next(iter(opt_g.state.values()))["step"]) == 2


def test_diffaugment_feeds_d_augmented_images_with_gradients() -> None:
    model = module(augment=["translation", "cutout"])
    model.eval()  # dropout off: any difference comes from the augmentation
    images = torch.zeros(16, 1, 28, 28, requires_grad=True)
    first, second = model.objective.critic(images, None)[0], model.objective.critic(images, None)[0]
    assert not torch.equal(first, second)
    first.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    plain = module()
    plain.eval()
    assert torch.equal(
        plain.objective.critic(images, None)[0], plain.objective.critic(images, None)[0]
    )


def test_translation_and_cutout_move_and_blank_with_background() -> None:
    torch.manual_seed(0)
    dot = torch.full((64, 1, 28, 28), -1.0)
    dot[:, :, 14, 14] = 1.0
    moved = translation(dot)
    where = (moved[:, 0] == 1.0).nonzero()[:, 1:]  # (row, col) of each image's dot
    assert len(where) == 64 and (where - 14).abs().max() <= 4  # 0.125 * 28 rounded
    assert len({tuple(w.tolist()) for w in where}) > 10
    blanked = cutout(torch.ones(64, 1, 28, 28))
    assert ((blanked == -1.0).flatten(1).sum(1) == 14 * 14).all()
    with pytest.raises(UserError, match="choose a list of"):
        DiffAugment(["rotate"])


def test_bn_sampling_modes_differ_and_standing_does_not_depend_on_batch_mates() -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=8, width=4)
    with torch.no_grad():  # running statistics far from any batch's
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                assert m.running_mean is not None
                m.running_mean.add_(3.0)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    noise = torch.randn(32, 8)
    batch, running, standing = (generate(g, noise, bn=mode) for mode in ("batch", "running",
                                                                       "standing"))  # fmt: skip
    assert not torch.allclose(batch, running, atol=1e-3)
    assert not torch.allclose(standing, running, atol=1e-3)
    alone = generate(g, noise[:1], bn="standing")
    assert torch.allclose(alone, standing[:1], atol=1e-5)  # independent of the batch
    assert not torch.allclose(generate(g, noise[:2], bn="batch")[:1], batch[:1], atol=1e-3)
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    with pytest.raises(UserError, match="choose one of standing, batch, running"):
        generate(g, noise, bn="keras")


def test_sample_and_eval_prefer_a_runs_best_checkpoint(tmp_path: Path) -> None:
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    (ckpts / "last.ckpt").write_bytes(b"x")
    assert find_checkpoints(tmp_path / "run", single=True) == [ckpts / "last.ckpt"]
    (ckpts / "best.ckpt").write_bytes(b"x")
    assert find_checkpoints(tmp_path / "run", single=True) == [ckpts / "best.ckpt"]
    assert find_checkpoints(tmp_path / "run", "last") == [ckpts / "last.ckpt"]


def seed_job(seed: str, setting: str, curve: list[float]) -> Job:
    return Job(Path(seed), {"seed": seed, "model.ema.decay": setting}, "completed",
               list(enumerate(curve)))  # fmt: skip


def test_seed_summary_gives_mean_spread_and_flags_collapsed_seeds() -> None:
    jobs = [
        seed_job("1", "0", [300, 100]), seed_job("2", "0", [300, 120]),
        seed_job("3", "0", [90, 200]),  # best early, collapsed by the end
        seed_job("1", "0.99", [200, 80]), seed_job("2", "0.99", [200, 90]),
    ]  # fmt: skip
    summaries = summarise_seeds(jobs, ["model.ema.decay", "seed"])
    ema, plain = summaries  # best mean final FID first
    assert ema.label == "model.ema.decay=0.99" and ema.final_mean == pytest.approx(85)
    assert ema.spread(ema.final) == pytest.approx(math.sqrt(50))
    assert plain.final_mean == pytest.approx(140) and plain.best_mean == pytest.approx(310 / 3)
    assert plain.collapsed == ("3",) and ema.collapsed == ()
    assert plain.worst_over_best == pytest.approx(2.0)


@pytest.mark.slow  # a minute or more on 2 cores: nox -s slow
def test_a_run_scores_raw_and_ema_generators_and_reports_the_better(
    compose_train, tmp_path: Path
) -> None:
    cfg = compose_train(
        "data=random", "trainer=fast", "logger=csv", "trainer.max_epochs=3",
        "metrics.extractor_steps=30", "metrics.n_fake=128", f"paths.cache_dir={tmp_path / 'c'}",
        "model.ema.decay=0.9", "model.ema.warmup=0", "model.ema.span=0",
        "model.ema.score_raw=always",
    )  # fmt: skip
    metrics = train(cfg)
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["val/fid"]]
    assert len(rows) == 3
    for row in rows:
        raw, ema = float(row["val/fid_raw"]), float(row["val/fid_ema"])
        assert raw != ema
        assert float(row["val/fid"]) == pytest.approx(min(raw, ema))
        assert float(row["val/uses_ema"]) == float(ema < raw)
    assert metrics["val/fid_best"] == pytest.approx(min(float(r["val/fid"]) for r in rows))
    best = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    assert any(k.startswith("generator_ema.module.") for k in best["state_dict"])


@pytest.mark.parametrize(
    ("score_raw", "raw_fids", "scored"),
    [
        # The EMA (FID 5) led three validations in a row: the fourth scores it alone.
        ("until_ema_leads", [10, 10, 10, 10], [False, True] * 3 + [True]),
        # A raw lead in between restarts the count.
        ("until_ema_leads", [10, 1, 10, 10], [False, True] * 4),
        ("always", [10, 10, 10, 10], [False, True] * 4),
    ],
)
def test_which_generators_each_validation_scores(
    score_raw: str, raw_fids: list[float], scored: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = module(ema={"decay": 0.9, "score_raw": score_raw})
    scoring = ScoreSamples(quality=SimpleNamespace())  # type: ignore[arg-type]
    calls: list[bool] = []
    logged: list[dict[str, float]] = []
    validation = iter(range(len(raw_fids)))
    current = [0]

    def score(scored_module: DCGANModule, ema: bool) -> dict[str, float]:
        assert scored_module is model
        calls.append(ema)
        return {"fid": 5.0 if ema else float(raw_fids[current[0]])}

    monkeypatch.setattr(scoring, "score", score)
    monkeypatch.setattr(model, "log_dict", lambda values, **_: logged.append(values))
    monkeypatch.setattr(model, "log", lambda *_, **__: None)
    trainer = SimpleNamespace(sanity_checking=False, callback_metrics={"val/fid_raw": 1.0})
    for current[0] in validation:
        scoring.on_validation_epoch_end(trainer, model)  # type: ignore[arg-type]
    assert calls == scored
    # No stale raw FID left for train.log's epoch line once the raw G is no longer scored.
    assert ("val/fid_raw" in trainer.callback_metrics) == (scored[-2:] == [False, True])
    assert logged[-1]["val/fid"] == 5.0 and bool(model.use_ema)
    assert ("val/fid_raw" in logged[-1]) == (scored[-2:] == [False, True])
