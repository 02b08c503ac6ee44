"""Bad input: exit 2 with one line on stderr, before training, earlier runs untouched."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from hydra._internal.hydra import Hydra

from dcgan_lab.cli import sample, train
from tests.conftest import bomb_png, keras_module, run_cli
from tests.data.test_sources import idx_bytes


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def write_idx_dir(root: Path, *, side: int = 28, n_labels: int = 8, images_file=None) -> None:
    """A Fashion-MNIST-style folder of 8 images per split; ``images_file`` replaces train's."""
    root.mkdir(parents=True)
    images = np.zeros((8, side, side), dtype=np.uint8)
    for prefix, (images_name, labels_name) in IDX_NAMES.items():
        (root / images_name).write_bytes(gzip.compress(idx_bytes(images)))
        labels = np.zeros(n_labels if prefix == "train" else 8, dtype=np.uint8)
        (root / labels_name).write_bytes(gzip.compress(idx_bytes(labels)))
    if images_file is not None:
        (root / IDX_NAMES["train"][0]).write_bytes(images_file)


def build_bad_inputs(root: Path) -> None:
    """Every bad file the table below points at, under ``root``."""
    good = idx_bytes(np.zeros((8, 28, 28), dtype=np.uint8))
    write_idx_dir(root / "idx_truncated", images_file=gzip.compress(good[:6]))
    write_idx_dir(root / "idx_magic", images_file=gzip.compress(b"\x00\x00\x0d\x03" + good[4:]))
    write_idx_dir(root / "idx_count", n_labels=7)
    write_idx_dir(root / "idx_short", images_file=gzip.compress(good[:-100]))
    write_idx_dir(root / "idx_gzip", images_file=b"not gzip at all")
    # dimensions whose product overflows 64 bits (and would need exabytes)
    absurd = b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    write_idx_dir(root / "idx_absurd", images_file=gzip.compress(absurd + good[16:]))
    (root / "empty_dir").mkdir()
    (root / "empty.csv").write_text("")
    (root / "words.csv").write_text("pixel,pixel,label\nwhite,black,seven\n")
    (root / "columns.csv").write_text("0,0,0,1\n")
    (root / "range.csv").write_text(",".join(["300"] * 784 + ["1"]) + "\n")
    (root / "huge_label.csv").write_text(",".join(["0"] * 784 + ["1000000000"]) + "\n" * 1)
    (root / "negative_label.csv").write_text(",".join(["0"] * 784 + ["-5"]) + "\n")
    (root / "a_directory.csv").mkdir()  # unreadable as a file (root ignores chmod)
    (root / "corrupt.ckpt").write_bytes(b"this is not a checkpoint")
    (root / "bomb").mkdir()
    (root / "bomb" / "big.png").write_bytes(bomb_png())
    torch.save({"weights": torch.ones(2)}, root / "foreign.ckpt")
    torch.save({"state_dict": [1, 2]}, root / "state_list.ckpt")
    torch.save({"state_dict": {"w": "text"}}, root / "state_text.ckpt")
    torch.save({"state_dict": {}, "hyper_parameters": [3]}, root / "settings_list.ckpt")
    torch.save({"state_dict": {}, "path": Path("x")}, root / "pickled.ckpt")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with bad inputs and one real earlier run (width=narrow), trained once."""
    root = tmp_path_factory.mktemp("bad_inputs")
    build_bad_inputs(root)
    # In this process, as the table's rows run (a process of its own adds 7 s of imports)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("WANDB_MODE", "disabled")
        patch.setenv("HYDRA_FULL_ERROR", "0")  # restored after: the app sets it for itself
        args = ["data=random", "trainer=fast", "metrics=none", "logger=csv", "width=narrow"]
        patch.setattr(sys, "argv", ["dcgan-train", *args])
        train.main()
    tamper_with_copies(earlier_run(root), root)
    return root


# A copy of the earlier run whose recorded overrides were edited to call something; each
# would truncate the earlier run's config.yaml if replayed (the table checks that it is not).
TAMPERED_OVERRIDES = {
    "tampered_open": ["+callbacks.evil._target_=builtins.open", "+callbacks.evil.file={victim}",
                      "+callbacks.evil.mode=w"],
    "tampered_node": ["+callbacks.evil={_target_:shutil.copyfile,src:/dev/null,dst:'{victim}'}"],
    "tampered_reach": ["+callbacks.evil._target_=dcgan_lab.runs.resume.os.truncate",
                       "+callbacks.evil.path={victim}", "+callbacks.evil.length=0"],
    "tampered_hydra": ["+hydra.callbacks.evil._target_=builtins.open",
                       "+hydra.callbacks.evil.file={victim}"],
}  # fmt: skip


def tamper_with_copies(run: Path, root: Path) -> None:
    victim = str(run / "config.yaml")
    for name, extra in TAMPERED_OVERRIDES.items():
        copy = root / name
        shutil.copytree(run, copy)
        overrides = copy / ".hydra" / "overrides.yaml"
        lines = [line.replace("{victim}", victim) for line in extra]
        overrides.write_text(overrides.read_text() + "".join(f"- {line!r}\n" for line in lines))


@pytest.fixture
def in_workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    # Hydra composes each command's config twice: first in Hydra.get_mode, only to read
    # hydra.mode (MULTIRUN in the sweep presets; None when unset, and None for any error,
    # which it swallows), then for the run. No row sets hydra.mode (test below), so that
    # first compose can only answer None: skipped, the 190 rows take 106 s instead of 189 s.
    monkeypatch.setattr(Hydra, "get_mode", lambda *_, **__: None)
    return workdir


def earlier_run(root: Path) -> Path:
    (ckpt,) = root.glob("outputs/runs/*/*/checkpoints/last.ckpt")
    return ckpt.parent.parent


def run_main(entry, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", [entry.__name__, *args])
    with pytest.raises(SystemExit) as exit_info:
        entry.main()
    return int(exit_info.value.code or 0)


def the_one_error_line(code: int, capsys, tool: str, message: str) -> str:
    """The bad-input promise: exit 2 and one stderr line, ``<tool>: error: ...<message>...``."""
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err_lines) == 1, err_lines
    assert err_lines[0].startswith(f"{tool}: error: ")
    assert message in err_lines[0]
    return err_lines[0]


def save_checkpoint(path: Path, num_classes: int = 0) -> None:
    """A checkpoint of a small module in Lightning's format (the e2e test uses a trained one)."""
    module = keras_module(width=4, latent_dim=8, num_classes=num_classes)
    torch.save(
        {
            "state_dict": module.state_dict(),
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )


FASHION = "data=fashion_mnist"
CSV = "data.source.path={tmp}/"
# (arguments, text the one error line must contain); {tmp} is the folder of bad inputs.
BAD_TRAIN_INPUTS = [
    # IDX files
    ([FASHION, "data.source.root={tmp}/idx_truncated"], "is truncated"),
    ([FASHION, "data.source.root={tmp}/idx_magic"], "is not an IDX file of 3-D unsigned bytes"),
    ([FASHION, "data.source.root={tmp}/idx_count"], "the two files do not belong together"),
    ([FASHION, "data.source.root={tmp}/idx_short"], "the file is truncated or corrupt"),
    ([FASHION, "data.source.root={tmp}/idx_gzip"], "replace it with a good copy"),
    ([FASHION, "data.source.root={tmp}/idx_absurd"], "(4294967295, 4294967295, 4294967295) needs"),
    ([FASHION, "data.source.root={tmp}/empty_dir"], "fashion_mnist files not found: put"),
    ([FASHION, "data.source.root={tmp}/no_such_dir"], "fashion_mnist files not found: put"),
    (
        ["data=mnist", "data.source.root={tmp}/m", "data.source.mirrors=[http://127.0.0.1:9]"],
        "cannot download mnist",
    ),
    # CSV digits
    ([CSV + "empty.csv"], "must have rows of S*S pixels (a square image) plus a label"),
    ([CSV + "words.csv"], "cannot parse {tmp}/words.csv as numeric CSV"),
    ([CSV + "columns.csv"], "must have rows of S*S pixels (a square image) plus a label"),
    ([CSV + "range.csv"], "has pixel values outside 0..255"),
    ([CSV + "huge_label.csv"], "label 1000000000 is outside 0..999"),
    ([CSV + "negative_label.csv"], "label -5 is outside 0..999 (or -1 for unlabelled images)"),
    ([CSV + "a_directory.csv"], "Is a directory"),
    ([CSV + "missing.csv"], "missing data file {tmp}/missing.csv"),
    # config groups and values
    (["width=huge"], "unknown width 'huge'; choose one of: base, narrow, wide"),
    (["data=foo"], "unknown data 'foo'; choose one of: cifar10, fashion_mnist, folder, mnist"),
    (["dropout=max"], "unknown dropout 'max'"),
    (["latent=tiny"], "unknown latent 'tiny'"),
    (["optimizer@model.d_optimizer=adagrad"], "unknown optimizer 'adagrad'"),
    (["trainer=tpu"], "unknown trainer 'tpu'"),
    (
        ["model.discriminator.dropout=1.5"],
        "model.discriminator.dropout=1.5 must be a number in [0, 1)",
    ),
    (
        ["model.discriminator.dropout=1.0"],
        "model.discriminator.dropout=1.0 must be a number in [0, 1)",
    ),
    (
        ["model.discriminator.dropout=-0.1"],
        "model.discriminator.dropout=-0.1 must be a number in [0, 1)",
    ),
    (["model.generator.width=0"], "model.generator.width=0 must be a positive integer"),
    (["model.width=0"], "Could not override 'model.width'"),
    (["model.discriminator.width=-2"], "model.discriminator.width=-2 must be a positive integer"),
    (["model.generator.latent_dim=0"], "model.generator.latent_dim=0 must be a positive integer"),
    (
        ["model.generator.latent_dim=abc"],
        "model.generator.latent_dim='abc' must be a positive integer",
    ),
    (["model.dropot=0.2"], "Could not override 'model.dropot'"),
    (["seed=abc"], "seed='abc' must be an integer >= 0"),
    (["threads=0"], "threads=0 must be an integer >= 1 (e.g. threads=1)"),
    (["threads=two"], "threads='two' must be an integer >= 1"),
    (
        ["technique=dropout"],
        "unknown technique 'dropout'; choose one of: ada, bcr, clusters, combined",
    ),
    (["trainer.max_epochs=-5"], "trainer.max_epochs=-5 must be an integer >= -1"),
    (["checkpoint_every_n_steps=-1"], "checkpoint_every_n_steps=-1 must be an integer >= 0"),
    (["model.g_optimizer.lr=-1"], "model.g_optimizer.lr=-1 must be a finite positive number"),
    (["model.d_optimizer.lr=fast"], "model.d_optimizer.lr='fast' must be a finite positive number"),
    (["model.d_optimizer.betas=[0.5,1.5]"], "model.d_optimizer: Invalid beta parameter"),
    (["data.batch_size=0"], "data.batch_size=0 must be a positive integer"),
    (["data.val_batch_size=-4"], "data.val_batch_size=-4 must be a positive integer"),
    # architectures, conditioning, data shapes
    (["model=resnet"], "unknown model 'resnet'; choose one of: dcgan, keras"),
    (["model=dcgan"], "model.generator.image_size=28: these networks need a power of two"),
    (["model=dcgan", "data.image_size=48"], "model.generator.image_size=48"),
    (["model=dcgan", "data.image_size=32", "model.generator.width=-1"], "model.generator.width=-1"),
    (
        ["model=dcgan", "data.image_size=32", "model.discriminator.dropout=2"],
        "model.discriminator.dropout=2",
    ),
    (["data.image_size=30"], "model.generator.image_size=30 must be divisible by 4"),
    (["data.image_size=0"], "data.image_size=0 must be a positive integer"),
    (["data.channels=2"], "data.channels=2: choose 1 (grey) or 3 (RGB)"),
    (["data.num_classes=5"], "the data has labels up to 9 but data.num_classes=5"),
    (["data.num_classes=0"], "data.num_classes=0 must be a positive integer"),
    (["model.generator.label_dim=0", "model.conditional=true"], "model.generator.label_dim=0"),
    (["model.generator.label_norm=yes"], "model.generator.label_norm='yes': use true or false"),
    (
        ["model.generator.label_norm=true", "model.conditional=false"],
        "model.generator.label_norm=true needs a conditional model: add model.conditional=true",
    ),
    (
        ["model.discriminator.minibatch_std=1"],
        "model.discriminator.minibatch_std=1 must be 0 (off) or a group size >= 2",
    ),
    (["model.discriminator.minibatch_std=four"], "model.discriminator.minibatch_std='four'"),
    (
        ["loss=acgan", "model.conditional=false"],
        "loss=acgan needs a conditional model: add model.conditional=true",
    ),
    (
        ["loss=acgan", "model.conditional=true", "model.loss.ac_weight=-1"],
        "model.loss.ac_weight=-1 must be a number >= 0",
    ),
    (["loss=nope"], "unknown loss 'nope'"),
    (["loss@model.loss=hinge"], "cannot set loss@model.loss= directly; write loss=NAME"),
    (["optimizer=sgd"], "cannot set optimizer= directly; the optimizer is chosen per network"),
    (["model.loss.r1_every=0"], "model.loss.r1_every=0 must be a positive integer"),
    (["model.loss.lecam_weight=-0.3"], "model.loss.lecam_weight=-0.3 must be a number >= 0"),
    (["+model.loss.lecam_decay=1"], "model.loss.lecam_decay=1 must be a number in [0, 1)"),
    (["model.loss.label_smoothing=0.7"], "model.loss.label_smoothing=0.7 must be below 0.5"),
    # the small-data techniques (docs/techniques.md)
    (["model.ada.target=1.5"], "model.ada.target=1.5 must be in (0, 1) (e.g. 0.6), or null"),
    (["model.ada.target=0"], "model.ada.target=0 must be in (0, 1)"),
    (["model.ada.target=high"], "model.ada.target='high' must be in (0, 1)"),
    (["model.ada.p=-0.1"], "model.ada.p=-0.1 must be a number in [0, 1]"),
    (["model.ada.p=2"], "model.ada.p=2 must be a number in [0, 1]"),
    (["model.ada.ops=[spin]"], "model.ada.ops=['spin']: choose a list of flip, brightness"),
    (["model.ada.ops=[]"], "model.ada.ops=[]: choose a list of flip"),
    (["model.ada.interval=0"], "model.ada.interval=0 must be a positive integer"),
    (["model.ada.ramp_images=1.5"], "model.ada.ramp_images=1.5 must be a positive integer"),
    (["+model.ada.speed=2"], "model.ada.speed is not a setting: use target, p, ops, interval"),
    (
        ["model.consistency.bcr_weight=-10"],
        "model.consistency.bcr_weight=-10 must be a number >= 0 (e.g. model.consistency.bcr",
    ),
    (["model.consistency.zcr_weight=x"], "model.consistency.zcr_weight='x' must be a number >= 0"),
    (
        ["model.consistency.zcr_generator_weight=-1"],
        "model.consistency.zcr_generator_weight=-1 must be a number >= 0",
    ),
    (
        ["model.consistency.zcr_weight=5", "model.consistency.zcr_sigma=0"],
        "model.consistency.zcr_sigma=0 gives zCR no nearby latent",
    ),
    (
        ["experiment=keras", "model.consistency.zcr_weight=5"],
        "step=keras draws no second set of fakes for zCR",
    ),
    (["+model.consistency.cr=1"], "model.consistency.cr is not a setting: use bcr_weight"),
    (["model.mode_seeking.weight=-1"], "model.mode_seeking.weight=-1 must be a number >= 0"),
    (["model.mode_seeking.weight=much"], "model.mode_seeking.weight='much' must be a number >= 0"),
    (["+model.mode_seeking.lambda=1"], "model.mode_seeking.lambda is not a setting: use weight"),
    (["model.mode_seeking.fade=1.5"], "model.mode_seeking.fade=1.5 must be in [0, 1]"),
    (["model.mode_seeking.fade=-0.5"], "model.mode_seeking.fade=-0.5 must be in [0, 1]"),
    (["model.mode_seeking.fade=late"], "model.mode_seeking.fade='late' must be in [0, 1]"),
    (
        ["model.mode_seeking.space=features"],
        "model.mode_seeking.space='features': choose one of pixels, discriminator",
    ),
    (
        ["model.mode_seeking.space=1"],
        "model.mode_seeking.space=1: choose one of pixels, discriminator",
    ),
    (
        ["experiment=keras", "model.mode_seeking.weight=1"],
        "step=keras draws no twin fakes for mode seeking",
    ),
    (["model.topk.min_fraction=0"], "model.topk.min_fraction=0 must be in (0, 1]"),
    (["model.topk.min_fraction=1.5"], "model.topk.min_fraction=1.5 must be in (0, 1]"),
    (["model.topk.decay=-0.99"], "model.topk.decay=-0.99 must be in (0, 1] (e.g. model.topk.decay"),
    (["model.topk.decay=slow"], "model.topk.decay='slow' must be in (0, 1]"),
    (["+model.topk.k=8"], "model.topk.k is not a setting: use min_fraction, decay"),
    (["model.conditional=maybe"], "model.conditional='maybe': choose false, true (the data's"),
    (["model.conditional=1"], "model.conditional=1: choose false, true"),
    (
        ["model.conditional=clusters", "model.self_conditioning.clusters=0"],
        "model.generator.num_classes=0 must be a positive integer",
    ),
    (
        ["model.self_conditioning.every_n_epochs=0"],
        "model.self_conditioning.every_n_epochs=0 must be a positive integer",
    ),
    (
        ["model.self_conditioning.max_images=-5"],
        "model.self_conditioning.max_images=-5 must be a positive integer",
    ),
    (["+model.self_conditioning.k=3"], "model.self_conditioning.k is not a setting: use clusters"),
    (
        ["model.bn_sampling=eval"],
        "model.bn_sampling='eval': choose one of standing, batch, running",
    ),
    (["trainer.max_time=abc"], "trainer.max_time='abc' must be a positive duration DD:HH:MM:SS"),
    (["trainer.max_time=00:00:-1:00"], "trainer.max_time='00:00:-1:00' must be a positive"),
    (["trainer.max_time=600"], "trainer.max_time=600 must be a positive duration"),
    (["trainer.max_time=00:00:00:00"], "trainer.max_time='00:00:00:00' must be a positive"),
    (["trainer.max_time=00:10:00"], "trainer.max_time='00:10:00' must be a positive duration"),
    (["model.ema.span=2"], "model.ema.span=2 must be a number in [0, 1] (e.g. 0.25), 0: off"),
    (["model.ema.span=-0.1"], "model.ema.span=-0.1 must be a number in [0, 1]"),
    (["model.ema.span=quarter"], "model.ema.span='quarter' must be a number in [0, 1]"),
    (
        ["model.ema.score_raw=never"],
        "model.ema.score_raw='never': choose one of always, until_ema_leads",
    ),
    (["model.ema.score_raw=[always]"], "model.ema.score_raw=['always']: choose one of always"),
    (["model.ema.decay=1.5"], "model.ema.decay=1.5 must be in (0, 1), or 0 for no EMA"),
    (["model.ema.decay=yes"], "model.ema.decay='yes' must be in (0, 1), or 0 for no EMA"),
    (["model.ema.warmup=-1"], "model.ema.warmup=-1 must be an integer >= 0"),
    (["model.ema.warmup=2.5"], "model.ema.warmup=2.5 must be an integer >= 0"),
    (["model.speed.channels_last=maybe"], "model.speed.channels_last='maybe': use true or false"),
    (["model.speed.compile=1"], "model.speed.compile=1: use true or false"),
    (["+model.speed.fast=true"], "model.speed.fast is not a switch: use compile or channels_last"),
    (
        ["+model.ema.rate=0.5"],
        "model.ema.rate is not a setting: use decay, warmup, span, score_raw",
    ),
    (["data=folder"], "data.source.root is required"),
    (
        ["data=folder", "data.source.root={tmp}/no_such_dir"],
        "is not a folder; point it at your images",
    ),
    (
        ["data=cifar10", "data.source.root={tmp}/c10", "data.source.mirrors=[]"],
        "CIFAR-10 not found: put cifar-10-python.tar.gz in",
    ),
    (
        ["data=cifar10", "data.source.root={tmp}/c10", "data.source.mirrors=[http://127.0.0.1:9]"],
        "cannot download CIFAR-10",
    ),
    # the Keras recipe's switches
    (["model.step=keras2"], "model.step='keras2': choose one of joint, keras"),
    (["model.step=keras", "loss=wgan_gp"], "use model.step=joint with loss=wgan_gp"),
    (
        ["model.generator.conventions=tf"],
        "model.generator.conventions='tf': choose one of dcgan, keras",
    ),
    (
        ["model.discriminator.conventions=1"],
        "model.discriminator.conventions=1: choose one of dcgan, keras",
    ),
    (["data.batches_per_epoch=0"], "data.batches_per_epoch=0 must be a positive integer"),
    (["data.batches_per_epoch=2.5"], "data.batches_per_epoch=2.5 must be a positive integer"),
    (["loss=keras_bce", "model.loss.clip=0.5"], "model.loss.clip=0.5 must be below 0.5"),
    (["loss=keras_bce", "model.loss.clip=-1"], "model.loss.clip=-1 must be a number >= 0"),
    (
        ["optimizer@model.g_optimizer=keras_adam", "model.g_optimizer.lr=-1"],
        "model.g_optimizer.lr=-1 must be a finite positive number",
    ),
    (
        ["optimizer@model.d_optimizer=keras_adam", "model.d_optimizer.eps=-1"],
        "model.d_optimizer.eps=-1 must be a number >= 0",
    ),
    (
        ["optimizer@model.d_optimizer=keras_adam", "model.d_optimizer.betas=[0.9,1.5]"],
        "model.d_optimizer.betas=[0.9, 1.5] must each be in [0, 1)",
    ),
    # Hydra's and Lightning's errors keep their cause
    (["trainer.gradient_clip_val=1"], "To append to your config use +trainer.gradient_clip_val=1"),
    (["trainer.accelerator=gpu"], "Trainer': MisconfigurationException('No supported gpu"),
    # a folder that holds a run is only resumed
    (["hydra.run.dir={run}"], "already holds a run; resume it with ckpt_path=last"),
    (["ckpt_path=last", "hydra.run.dir={tmp}/empty"], "holds no checkpoints/last.ckpt"),
    # tiny data: the advice fits the case
    (["data.batch_size=1"], "data.batch_size=1: BatchNorm needs at least 2 images a batch"),
    (["data=random", "data.source.n_train=0"], "random has 0 training images (the held-out"),
    (["data=random", "data.source.n_train=1"], "random has 1 training image (the held-out"),
    (["data=random", "data.source.n_val=0"], "the held-out split has 0 images: scores need"),
    (["data=random", "data.source.n_val=1"], "the held-out split has 1 image: scores need"),
    (
        ["metrics.n_real=1"],
        "the held-out split has 1 image: scores need at least 6 (set metrics.n_real=6",
    ),
    (["metrics.n_real=5"], "the held-out split has 5 images: scores need at least 6"),
    # values that make no run
    (["trainer.max_epochs=0"], "trainer.max_epochs=0 trains nothing"),
    (["trainer.max_steps=0"], "trainer.max_steps=0 trains nothing"),
    (["trainer.limit_train_batches=0"], "trainer.limit_train_batches=0 trains nothing"),
    (["trainer.limit_train_batches=0.0"], "trainer.limit_train_batches=0 trains nothing"),
    (["model.g_optimizer.lr=nan"], "model.g_optimizer.lr=nan must be a finite positive number"),
    (["model.d_optimizer.lr=inf"], "model.d_optimizer.lr=inf must be a finite positive number"),
    (["model.d_optimizer.lr=-inf"], "model.d_optimizer.lr=-inf must be a finite positive"),
    (["trainer.devices=2"], "trainer.devices=2 on the CPU needs a data-parallel strategy"),
    (["trainer.devices=-1"], "trainer.devices=-1 on the CPU needs a data-parallel strategy"),
    (["+trainer.gradient_clip_val=1.0"], "trainer.gradient_clip_val=1.0 does not apply"),
    (["+trainer.accumulate_grad_batches=4"], "trainer.accumulate_grad_batches=4 does not apply"),
    (["metrics.every_n_epochs=0"], "metrics.every_n_epochs=0 must be an integer >= 1"),
    (["metrics.kid_subset_size=1"], "metrics.kid_subset_size=1 must be an integer >= 2"),
    (["data.source.val_fraction=1.5"], "data.source.val_fraction=1.5 must be in (0, 1)"),
    (["metrics.n_fake=1"], "metrics.n_fake=1 must be an integer >= 6"),
    (["metrics.n_fake=5"], "metrics.n_fake=5 must be an integer >= 6"),
    (["metrics.fid_infinity=yes"], "metrics.fid_infinity='yes': use true or false"),
    (["callbacks.sample_grid.animate=maybe"], "callbacks.sample_grid.animate='maybe': use true"),
    (["metrics.features=pixels"], "metrics.features='pixels': choose one of"),
    (["data=folder", "data.source.root={tmp}/bomb"], "pixels (a decompression bomb?); resize it"),
    # W&B names, checked before the run folder is written
    (["logger=wandb", "logger.wandb.project='a/b'"], "logger.wandb.project='a/b': a W&B project"),
    (["logger=wandb", "logger.wandb.project=''"], "logger.wandb.project='': a W&B project name"),
    (["logger=wandb", "logger.wandb.entity='me:you'"], "contains ':'"),
    # TensorBoard and MLflow (docs/loggers.md)
    (["logger=[csv,nope]"], "unknown logger 'nope'; choose one of: csv, default, mlflow"),
    (["logger=mlflow", "logger.mlflow.experiment_name=''"], "name the MLflow experiment"),
    (["logger=mlflow", "logger.mlflow.experiment_name=5"], "experiment_name=5: name the MLflow"),
    (["logger=mlflow", "logger.mlflow.store=null"], "logger.mlflow: set store (a SQLite file)"),
    (["logger=mlflow", "logger.mlflow.store=/proc/x.db"], "cannot write the MLflow database"),
    (["logger=mlflow", "logger.mlflow.tracking_uri='http://127.0.0.1:9'"], "no MLflow server"),
    (["logger=mlflow", "logger.mlflow.tracking_uri='ftp://host/x'"], "MLflow cannot use it"),
    # checkpoints
    (["ckpt_path={tmp}/nope.ckpt"], "checkpoint {tmp}/nope.ckpt not found"),
    (["ckpt_path={tmp}/corrupt.ckpt"], "cannot load checkpoint {tmp}/corrupt.ckpt"),
    (["ckpt_path={tmp}/foreign.ckpt"], "no state_dict in it"),
    (["ckpt_path={tmp}/state_list.ckpt"], "its state_dict is a list, not tensors by name"),
    (["ckpt_path={tmp}/state_text.ckpt"], "its state_dict is a dict, not tensors by name"),
    (["ckpt_path={tmp}/settings_list.ckpt"], "its hyper_parameters are a list, not settings"),
    (["ckpt_path={tmp}/pickled.ckpt"], "holds Python objects besides tensors"),
    # a run folder edited to call something on resume (replayed overrides)
    (["ckpt_path={tmp}/tampered_open/checkpoints/last.ckpt"], "names builtins.open to build"),
    (["ckpt_path={tmp}/tampered_node/checkpoints/last.ckpt"], "names shutil.copyfile to build"),
    (
        ["ckpt_path={tmp}/tampered_reach/checkpoints/last.ckpt"],
        "names dcgan_lab.runs.resume.os.truncate to build",
    ),
    (
        ["ckpt_path={tmp}/tampered_hydra/checkpoints/last.ckpt"],
        "sets hydra.callbacks.evil._target_",
    ),
    # resuming the earlier run (width=narrow) with a wider net, or a bad value
    (["ckpt_path=last", "width=base"], "different architecture (model.generator.width=32 (now 64)"),
    (["ckpt_path=last", "seed=-3"], "seed=-3 must be an integer >= 0"),
    (
        ["ckpt_path={run}/checkpoints/last.ckpt", "model.generator.latent_dim=64"],
        "model.generator.latent_dim=100",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_TRAIN_INPUTS)
def test_bad_train_input_gives_one_line_and_exit_2(
    in_workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    run = earlier_run(in_workdir)
    before = tree_digest(run)
    checkpoint_dirs = sorted(in_workdir.glob("outputs/runs/*/*/checkpoints"))

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(in_workdir)).replace("{run}", str(run))

    code = run_main(train, ["trainer=fast", "logger=csv", *map(fill, args)], monkeypatch)
    line = the_one_error_line(code, capsys, "dcgan-train", fill(message))
    assert "weights_only=False" not in line  # never advise running a file's code
    assert tree_digest(run) == before  # the earlier run is untouched, resumes included
    assert sorted(in_workdir.glob("outputs/runs/*/*/checkpoints")) == checkpoint_dirs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["logger=mlflow", "logger.mlflow.experiment_name=''"], "name the MLflow experiment"),
        (["callbacks.sample_grid.animate=maybe"], "callbacks.sample_grid.animate='maybe'"),
    ],
)
def test_a_bad_logger_or_callback_is_refused_before_the_scorer_reads_any_image(
    in_workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    """The scorer measures the real images first (and trains its feature extractor on first
    use: minutes), so every setting it does not need is checked before it starts."""

    def scorer_started(*_: object) -> None:
        raise AssertionError("the scorer started before the bad setting was refused")

    monkeypatch.setattr(train, "build_quality", scorer_started)
    code = run_main(train, ["trainer=fast", "logger=csv", *args], monkeypatch)
    the_one_error_line(code, capsys, "dcgan-train", message)


def test_the_table_covers_at_least_forty_bad_inputs() -> None:
    assert len(BAD_TRAIN_INPUTS) >= 40


def test_no_row_runs_a_sweep() -> None:
    """What lets the rows skip Hydra's get_mode (``in_workdir``): none sets hydra.mode."""
    sweeps = ("hparams_search", "hydra.mode", "-m", "--multirun")
    assert not [a for args, _ in BAD_TRAIN_INPUTS for a in args if a.startswith(sweeps)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ckpt_path={tmp}/nope.ckpt"], "ckpt_path={tmp}/nope.ckpt does not exist"),
        (["ckpt_path={tmp}/bad.ckpt"], "cannot load checkpoint"),
        ([], "ckpt_path is required: add ckpt_path=... to the command"),
        (["ckpt_path={tmp}/good.ckpt", "n=0"], "n=0 must be a positive integer"),
        (
            ["ckpt_path={tmp}/good.ckpt", "label=3"],
            "label=3: this checkpoint's model is not conditional",
        ),
        (["ckpt_path={tmp}/cond.ckpt", "label=10"], "label=10: choose all or a class in 0..9"),
        (["ckpt_path={tmp}/cond.ckpt", "label=-1"], "label=-1: choose all or a class in 0..9"),
        (["ckpt_path={tmp}/cond.ckpt", "label=some"], "label='some': choose all or a class"),
        (["ckpt_path={tmp}/cond.ckpt", "label=all", "bn_sampling=eval"], "bn_sampling='eval'"),
        (["ckpt_path={tmp}/good.ckpt", "seed=abc"], "seed='abc' must be an integer >= 0"),
        (["ckpt_path={tmp}/good.ckpt", "seed=1.5"], "seed=1.5 must be an integer >= 0"),
        (["ckpt_path={tmp}", "checkpoint=middle"], "checkpoint='middle': choose one of best, last"),
        (["mode=draw"], "mode='draw': choose one of sample, interpolate, animate"),
        (["mode=interpolate"], "ckpt_path is required: add ckpt_path=... to the command"),
        (
            ["mode=interpolate", "ckpt_path={tmp}/good.ckpt", "pairs=0"],
            "pairs=0 must be an integer >= 1",
        ),
        (
            ["mode=interpolate", "ckpt_path={tmp}/good.ckpt", "steps=1"],
            "steps=1 must be an integer >= 2",
        ),
        (
            ["mode=interpolate", "ckpt_path={tmp}/good.ckpt", "steps=x"],
            "steps='x' must be an integer",
        ),
        (
            ["mode=interpolate", "ckpt_path={tmp}/good.ckpt", "pairs=100"],
            "at most 64 rows of 32 images",
        ),
        (
            ["mode=interpolate", "ckpt_path={tmp}/good.ckpt", "label=3"],
            "label=3: this checkpoint's model",
        ),
        (
            ["mode=interpolate", "ckpt_path={tmp}/cond.ckpt", "label=12"],
            "label=12: choose all or a class",
        ),
        (["ckpt_path={tmp}/good.ckpt", "truncation=0"], "truncation=0: give a threshold > 0"),
        (["ckpt_path={tmp}/good.ckpt", "truncation=-1"], "truncation=-1: give a threshold > 0"),
        (["ckpt_path={tmp}/good.ckpt", "truncation=x"], "truncation='x': give a threshold > 0"),
        (["ckpt_path={tmp}/good.ckpt", "truncation=true"], "truncation=True: give a threshold"),
        (["ckpt_path={tmp}/good.ckpt", "truncation=inf"], "truncation=inf: give a threshold"),
        (["mode=animate"], "mode=animate needs the run: add run=outputs/runs/<date>/<time>"),
        (["mode=animate", "run={tmp}/nowhere"], "run={tmp}/nowhere is not a folder"),
        (["mode=animate", "run={tmp}"], "no epoch_NNN.png sample grids in {tmp}/samples"),
        (["ckpt_path={tmp}/good.ckpt", "out_dir={tmp}/good.ckpt"], "good.ckpt is a file; give a"),
        (["ckpt_path={tmp}/good.ckpt", "out_dir={tmp}/good.ckpt/x"], "good.ckpt is not a folder"),
    ],
)
def test_bad_sample_input_gives_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    workdir = tmp_path
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    (workdir / "bad.ckpt").write_bytes(b"this is not a checkpoint")
    save_checkpoint(workdir / "good.ckpt")
    save_checkpoint(workdir / "cond.ckpt", num_classes=10)
    args = [a.replace("{tmp}", str(workdir)) for a in args]
    code = run_main(sample, args, monkeypatch)
    the_one_error_line(code, capsys, "dcgan-sample", message.replace("{tmp}", str(workdir)))
    assert not (workdir / "outputs").exists()  # no empty output folder left behind


def test_console_script_exit_code_and_single_line_in_a_real_process(tmp_path: Path) -> None:
    result = run_cli(["dcgan-train", "width=huge"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dcgan-train: error: unknown width 'huge'; choose one of: base, narrow, wide"
    ]
