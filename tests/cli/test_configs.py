"""Every option of every config group composes and instantiates."""

from __future__ import annotations

from pathlib import Path

import hydra
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from PIL import Image

from dcgan_lab.cli.train import follow_data, instantiate_each
from dcgan_lab.data import ImageDataModule
from dcgan_lab.training.losses import GANLoss
from dcgan_lab.training.module import DCGANModule
from tests.conftest import CONF

# Groups that are composed through another key; every other conf/ folder is a group.
SPECIAL = {"hydra", "paths"}
GROUP_OVERRIDE = {"optimizer": "optimizer@model.d_optimizer"}
EXTRA = {
    ("trainer", "ddp"): ["trainer.devices=1"],  # without GPUs: composed as one CPU process
    ("model", "dcgan"): ["data.image_size=32"],  # the DCGAN networks need a power-of-two side
    ("loss", "acgan"): ["model.conditional=true"],  # ACGAN trains a conditional model
    ("data", "folder"): ["data.source.root=/nonexistent"],  # read only by train()
}


def group_options() -> list[tuple[str, str]]:
    return [
        (folder.name, option.stem)
        for folder in sorted(p for p in CONF.iterdir() if p.is_dir())
        if folder.name not in SPECIAL
        for option in sorted(folder.glob("*.yaml"))
    ]


def test_every_group_has_options() -> None:
    groups = {g for g, _ in group_options()}
    assert {"data", "model", "optimizer", "width", "dropout", "latent", "trainer"} <= groups
    assert {"keras", "dcgan"} <= {o for g, o in group_options() if g == "model"}
    assert {"folder", "cifar10", "mnist5k"} <= {o for g, o in group_options() if g == "data"}
    assert {"logger", "callbacks", "experiment"} <= groups


def file_values(group: str, option: str) -> dict[str, object]:
    """Every plain value an option's file sets, by its full key in the composed config
    (``# @package`` honoured; interpolations and the defaults list left out)."""
    path = CONF / group / f"{option}.yaml"
    header = path.read_text().splitlines()[0]
    package = header.split("@package", 1)[1].strip() if "@package" in header else group
    package = {"_global_": "", "model.d_optimizer": "model.d_optimizer"}.get(package, package)
    if group in GROUP_OVERRIDE:
        package = GROUP_OVERRIDE[group].split("@", 1)[1]
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    assert isinstance(raw, dict)
    raw.pop("defaults", None)
    found: dict[str, object] = {}

    def walk(node: object, key: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, f"{key}.{name}" if key else str(name))
        elif not (isinstance(node, str) and "${" in node):
            found[key] = node

    walk(raw, package)
    return found


@pytest.mark.parametrize(("group", "option"), group_options())
def test_option_composes_and_instantiates(compose_train, group: str, option: str) -> None:
    cfg = compose_train(
        f"{GROUP_OVERRIDE.get(group, group)}={option}", *EXTRA.get((group, option), [])
    )
    # A value a user reads in the option's file is the value that runs: no later default
    # overrides it (conf/model/*.yaml once set a width, dropout and latent size that the
    # width/, dropout/ and latent/ groups always replaced).
    # Set by the test (compose_train composes for the CPU), required of the user, or Hydra's
    # own settings (not part of a composed job config).
    set_here = {o.split("=", 1)[0] for o in EXTRA.get((group, option), [])}
    set_here |= {"trainer.accelerator", "paths.output_dir"}
    for key, value in file_values(group, option).items():
        if key in set_here or value == "???" or key.startswith("hydra."):
            continue
        assert OmegaConf.select(cfg, key) == value, f"conf/{group}/{option}.yaml: {key}"
    OmegaConf.resolve(cfg)
    data = hydra.utils.instantiate(cfg.data)
    assert isinstance(data, ImageDataModule)
    model = hydra.utils.instantiate(cfg.model)
    assert isinstance(model, DCGANModule)
    for net in ("generator", "discriminator"):  # the networks built are the ones configured
        built = model.hparams[net]
        assert {k: v for k, v in cfg.model[net].items() if k in built} == built, net
    g_opt, d_opt = model.configure_optimizers()
    assert isinstance(g_opt, torch.optim.Optimizer) and isinstance(d_opt, torch.optim.Optimizer)
    if cfg.get("metrics"):
        assert callable(hydra.utils.instantiate(cfg.metrics))  # built by train() with the data
    callbacks = instantiate_each(cfg.get("callbacks"))
    loggers = instantiate_each(cfg.get("logger"))
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    assert isinstance(trainer, pl.Trainer)


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        (["width=narrow"], "model.generator.width", 32),
        (["width=narrow"], "model.discriminator.width", 32),
        (["width=wide", "model=dcgan"], "model.discriminator.width", 128),
        (["model.generator.width=48"], "model.generator.width", 48),
        (["model=dcgan", "dropout=none"], "model.discriminator.dropout", 0.0),
        (["model=dcgan", "latent=base"], "model.generator.latent_dim", 100),
        (["model.conditional=true"], "model.generator.conditional", True),
        ([], "model.conditional", True),  # the default on labelled data ...
        (["data=fashion_mnist"], "model.conditional", True),
        (["data=folder"], "model.conditional", False),  # ... until the folder shows classes
        (["experiment=keras"], "model.conditional", False),  # the recipe: noise alone
        (["experiment=paper_adam"], "model.conditional", False),
        (["hparams_search=techniques"], "model.conditional", False),  # the study's model
        (["hparams_search=techniques", "technique=clusters"], "model.conditional", "clusters"),
        ([], "model.mode_seeking.weight", 0.0),  # off unless asked for
        (["technique=mode_seeking"], "model.mode_seeking.weight", 0.1),
        (["model.conditional=false"], "model.generator.latent_dim", 16),  # compact: 16 without
        ([], "model.generator.latent_dim", 100),  # labels, 100 conditional
        (["model.conditional=true", "latent=small"], "model.generator.latent_dim", 32),
        (["model.conditional=true"], "model.discriminator.conditional", True),
        ([], "model.generator.num_classes", 10),
        (["loss=acgan"], "model.loss.ac_weight", 1.0),
        (["data=cifar10"], "data.channels", 3),
        (["data=folder"], "data.num_classes", None),
        (["dropout=none"], "model.discriminator.dropout", 0.0),
        (["dropout=high"], "model.discriminator.dropout", 0.5),
        (["model.discriminator.dropout=0.1"], "model.discriminator.dropout", 0.1),
        (["latent=small"], "model.generator.latent_dim", 32),
        (["latent=large", "model.generator.latent_dim=77"], "model.generator.latent_dim", 77),
        (["optimizer@model.d_optimizer=sgd"], "model.d_optimizer._target_", "torch.optim.SGD"),
        (["optimizer@model.d_optimizer=sgd"], "model.g_optimizer._target_", "torch.optim.Adam"),
        (["model.g_optimizer.lr=0.001"], "model.g_optimizer.lr", 0.001),
        (["experiment=paper_adam"], "model.d_optimizer.betas", [0.5, 0.999]),
        ([], "model.g_optimizer.lr", 4e-4),  # the default: G at twice the paper's lr
        ([], "model.d_optimizer.lr", 2e-4),
        (["experiment=paper_adam"], "model.g_optimizer.lr", 2e-4),
        (["optimizer_pair=adam"], "model.g_optimizer.lr", 2e-4),
        (["optimizer@model.g_optimizer=sgd"], "model.g_optimizer.lr", 1e-2),
        (["loss=wgan_gp", "model.loss.r1_weight=1"], "model.loss.r1_weight", 1),
        (["loss=hinge", "model.loss.r1_weight=1"], "model.loss.r1_weight", 1),
        (["experiment=paper_adam"], "model.ema.decay", 0.0),
        ([], "model.ema.decay", 0.9998),
        ([], "model.loss.r1_weight", 1.0),  # the default: lazy R1 on every 4th D step
        ([], "model.loss.r1_every", 4),
        (["loss=hinge"], "model.loss.r1_every", 4),
        (["experiment=paper_adam"], "model.loss.r1_weight", 0.0),
        (["experiment=paper_adam"], "model.bn_sampling", "running"),
        (["experiment=keras"], "model.step", "keras"),
        (["experiment=keras"], "model.generator.activation_before_norm", True),
        (["experiment=keras"], "model.generator.conventions", "keras"),
        (["experiment=keras"], "model.discriminator.conventions", "keras"),
        (["experiment=keras"], "model.g_optimizer.lr", 1e-3),
        (["experiment=keras"], "model.d_optimizer.eps", 1e-7),
        (["experiment=keras"], "model.loss._target_", "dcgan_lab.training.losses.KerasBCELoss"),
        (["experiment=keras"], "data.batch_size", 32),
        (["experiment=keras"], "data.batches_per_epoch", 200),
        (["experiment=keras"], "callbacks.stop_at_iteration.iterations", 4001),
        (["experiment=keras"], "trainer.max_steps", -1),  # step-based resumes replay an epoch
        (["experiment=keras"], "model.n_fixed_samples", 25),
        (["experiment=paper_adam"], "model.loss._target_", "dcgan_lab.training.losses.GANLoss"),
        (["optimizer_pair=ttur"], "model.g_optimizer.lr", 1e-4),
        (["optimizer_pair=ttur"], "model.d_optimizer.lr", 4e-4),
        (["loss=wgan_gp"], "model.loss.n_critic", 5),
        (["model.loss.label_smoothing=0.1"], "model.loss.label_smoothing", 0.1),
        (["loss=hinge", "model.loss.lecam_weight=0.3"], "model.loss.lecam_weight", 0.3),
        (["model.conditional=clusters"], "model.generator.num_classes", 10),
        (["model.conditional=clusters"], "model.discriminator.conditional", True),
        (["model.conditional=clusters", "data=random"], "model.discriminator.num_classes", 10),
        (["model.conditional=true", "data=random"], "model.discriminator.num_classes", 2),
        (
            ["model.self_conditioning.clusters=4", "model.conditional=clusters"],
            "model.generator.num_classes",
            4,
        ),
        (["experiment=fashion"], "data.source.name", "fashion_mnist"),
        # conditional BatchNorm in G follows the data's labels, never clusters or the recipes
        ([], "model.generator.label_norm", True),
        (["model.conditional=false"], "model.generator.label_norm", False),
        (["model.conditional=clusters"], "model.generator.label_norm", False),
        (["experiment=keras"], "model.generator.label_norm", False),
        (["experiment=paper_adam"], "model.generator.label_norm", False),
        (["model=dcgan"], "model.generator.label_norm", False),
    ],
)
def test_presets_and_plain_keys_set_the_model(compose_train, overrides, key, expected) -> None:
    cfg = compose_train(*overrides)
    assert OmegaConf.select(cfg, key) == expected


def test_width_presets_scale_both_networks(compose_train) -> None:
    narrow = hydra.utils.instantiate(compose_train("width=narrow").model)
    wide = hydra.utils.instantiate(compose_train("width=wide").model)
    assert narrow.generator.upsample[1].out_channels == 32
    assert narrow.discriminator.features[0].out_channels == 32
    assert wide.generator.upsample[1].out_channels == 128
    assert wide.discriminator.features[3].out_channels == 256


def test_separate_widths_and_optimizers_per_network(compose_train) -> None:
    cfg = compose_train("model.discriminator.width=16", "optimizer@model.d_optimizer=rmsprop")
    model = hydra.utils.instantiate(cfg.model)
    assert model.discriminator.features[0].out_channels == 16
    assert model.generator.upsample[1].out_channels == 64
    g_opt, d_opt = model.configure_optimizers()
    assert isinstance(g_opt, torch.optim.Adam) and isinstance(d_opt, torch.optim.RMSprop)
    # The default G optimizer is Adam at twice the paper's lr (conf/optimizer/adam_fast.yaml).
    assert g_opt.defaults["lr"] == 4e-4 and g_opt.defaults["betas"] == (0.5, 0.999)


@pytest.mark.parametrize(("layout", "classes"), [("subfolders", 2), ("loose", 0)])
def test_the_default_is_conditional_when_the_data_has_labels(
    compose_train, tmp_path: Path, layout: str, classes: int
) -> None:
    """model.conditional's default follows the data: an image folder's classes are known
    once it is read (follow_data), and only then do the networks embed them."""
    root = tmp_path / "pictures"
    for i in range(10):
        folder = root / f"class{i % 2}" if layout == "subfolders" else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("L", (12, 12), 20 * i).save(folder / f"{i}.png")
    cfg = compose_train("data=folder", f"data.source.root={root}", "data.channels=1",
                        "data.image_size=8", "data.batch_size=4",
                        f"paths.cache_dir={tmp_path / 'cache'}")  # fmt: skip
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    follow_data(cfg, datamodule)
    assert cfg.model.conditional is bool(classes)
    model = hydra.utils.instantiate(cfg.model)
    assert model.num_classes == classes and model.latent_dim == (100 if classes else 16)
    assert model.generator.label_norm is bool(classes)


def test_defaults_are_reference_networks_with_compact_latent(compose_train, tmp_path: Path) -> None:
    cfg = compose_train()
    assert cfg.data.source._target_.endswith("Mnist5k")
    assert cfg.model.generator._target_.endswith("KerasGenerator")
    assert (cfg.model.generator.width, cfg.model.discriminator.width) == (64, 64)
    assert cfg.model.discriminator.dropout == 0.3
    assert cfg.model.conditional is True  # mnist5k has labels: G and D see them
    assert cfg.model.generator.latent_dim == 100  # latent=compact, conditional
    assert cfg.data.batch_size == 8  # small batches: more updates per CPU second
    assert set(cfg.logger) == {"csv", "wandb"}


def test_paper_adam_experiment_is_the_pytorch_port_recipe(compose_train) -> None:
    cfg = compose_train("experiment=paper_adam")
    assert cfg.data.batch_size == 64 and cfg.model.generator.latent_dim == 100
    model = hydra.utils.instantiate(cfg.model)
    assert model.generator_ema is None and model.augment is None
    assert type(model.loss) is GANLoss and model.loss.label_smoothing == 0.0
    assert model.loss.r1_weight == 0.0
    assert (
        model.hparams["bn_sampling"] == "running"
        and not model.hparams["discriminator"]["spectral_norm"]
    )


# The command line of the measured rows (docs/results.md, "bf16 on a CPU with native bf16")
BF16_CPU_ROW = [
    "trainer.precision=bf16-mixed", "technique=mode_seeking", "dropout=none",
    "model.mode_seeking.space=discriminator", "optimizer@model.d_optimizer=adam_fast",
    "data.batch_size=16", "model.mode_seeking.weight=1", "model.loss.r1_weight=0.3",
    "model.g_optimizer.lr=8e-4",
]  # fmt: skip


def test_the_bf16_cpu_experiment_trains_the_measured_row(compose_train) -> None:
    """experiment=bf16_cpu is the row its figures come from, key for key (only tags differ)."""
    preset, row = compose_train("experiment=bf16_cpu"), compose_train(*BF16_CPU_ROW)
    preset.tags = row.tags = None
    assert OmegaConf.to_container(preset) == OmegaConf.to_container(row)
    assert preset.trainer.max_time == "00:00:10:00"  # the CPU's budget, as the default's


def test_metrics_none_drops_scoring_and_the_best_fid_checkpoint(compose_train) -> None:
    cfg = compose_train("metrics=none")
    assert cfg.metrics is None
    monitors = [c.get("monitor") for c in cfg.callbacks.values() if c]
    assert "val/fid" not in monitors
    assert "val/fid" in [c.get("monitor") for c in compose_train().callbacks.values() if c]
