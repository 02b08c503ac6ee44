"""The Keras MNIST DCGAN recipe in Keras 3 (torch backend), and the project's run of it on
the same batches, for the fidelity tests and ``benchmarks/keras_vs_project.py``.

Keras is imported on first use: ``pip install -e '.[fidelity]'`` and ``KERAS_BACKEND=torch``.
Keras lays images out NHWC and flattens (H, W, C); the project is NCHW and flattens
(C, H, W), so dense layers next to a reshape or flatten have their features permuted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from dcgan_lab.training.module import DCGANModule

LATENT = 100
SIDE = 7  # G's dense layer feeds (7, 7, 128); D flattens (7, 7, 128)
CHANNELS = 128


def import_keras() -> Any:
    """Keras on the torch backend, or ImportError saying how to get it."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise ImportError(f"Keras runs on {keras.backend.backend()}; set KERAS_BACKEND=torch")
    return keras


@dataclass
class KerasRecipe:
    """The recipe's three models: G, D (compiled alone) and G -> frozen D (``gan``)."""

    generator: Any
    discriminator: Any
    gan: Any

    @classmethod
    def build(cls, dropout: float = 0.3, seed: int = 0, dtype: str = "float32") -> KerasRecipe:
        """``dtype="float64"`` builds every layer in double precision. Keras caches its
        global dtype policy on first use, so both it and ``floatx`` are set while building
        and restored after."""
        keras = import_keras()
        floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
        keras.config.set_floatx(dtype)
        keras.config.set_dtype_policy(dtype)
        try:
            return cls._build(keras, dropout, seed)
        finally:
            keras.config.set_floatx(floatx)
            keras.config.set_dtype_policy(policy)

    @classmethod
    def _build(cls, keras: Any, dropout: float, seed: int) -> KerasRecipe:
        from keras import layers

        keras.utils.set_random_seed(seed)
        generator = keras.Sequential([
            keras.Input((LATENT,)),
            layers.Dense(CHANNELS * SIDE * SIDE, activation=layers.LeakyReLU(0.2)),
            layers.BatchNormalization(),
            layers.Reshape((SIDE, SIDE, CHANNELS)),
            layers.UpSampling2D(),
            layers.Conv2D(64, kernel_size=5, padding="same"),
            layers.BatchNormalization(),
            layers.Activation(layers.LeakyReLU(0.2)),
            layers.UpSampling2D(),
            layers.Conv2D(1, kernel_size=5, padding="same", activation="tanh"),
        ])  # fmt: skip
        discriminator = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, kernel_size=5, strides=2, padding="same"),
            layers.Activation(layers.LeakyReLU(0.2)),
            layers.Dropout(dropout),
            layers.Conv2D(128, kernel_size=5, strides=2, padding="same"),
            layers.Activation(layers.LeakyReLU(0.2)),
            layers.Dropout(dropout),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ])  # fmt: skip
        discriminator.compile(loss="binary_crossentropy", optimizer="adam")
        discriminator.trainable = False
        noise = keras.Input((LATENT,))
        gan = keras.Model(noise, discriminator(generator(noise)))
        gan.compile(loss="binary_crossentropy", optimizer="adam")
        return cls(generator, discriminator, gan)

    def iteration(self, real: np.ndarray, noise: np.ndarray) -> tuple[float, float]:
        """One iteration on real (B, 28, 28, 1) in [-1, 1] and noise (B, 100): the D losses'
        mean and G's loss. Keras 3 reads ``trainable`` at every step, so D is unfrozen for
        its own updates (Keras 2 fixed it at ``compile()``: the book's behaviour)."""
        ones = np.ones((len(real), 1), real.dtype)
        self.discriminator.trainable = True
        d_real = self.discriminator.train_on_batch(real, ones)
        fakes = self.generator.predict(noise, verbose=0)
        d_fake = self.discriminator.train_on_batch(fakes, np.zeros_like(ones))
        self.discriminator.trainable = False
        g_loss = self.gan.train_on_batch(noise, ones)
        return 0.5 * (float(d_real) + float(d_fake)), float(g_loss)


def hwc_to_chw(features: int = CHANNELS * SIDE * SIDE) -> torch.Tensor:
    """Index map: the project's feature c*49 + h*7 + w is Keras' feature (h*7 + w)*128 + c."""
    c = torch.arange(features) // (SIDE * SIDE)
    hw = torch.arange(features) % (SIDE * SIDE)
    return hw * CHANNELS + c


def keras_state(recipe: KerasRecipe) -> dict[str, torch.Tensor]:
    """The Keras models' weights and BatchNorm statistics under the project's parameter names
    (``model.step=keras``'s generator: Linear, LeakyReLU, BN; D: features 0 and 3)."""
    perm = hwc_to_chw()
    g, d = recipe.generator.layers, recipe.discriminator.layers

    def t(variable: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(variable.numpy()))

    def conv(layer: Any) -> list[torch.Tensor]:  # (kh, kw, in, out) -> (out, in, kh, kw)
        kernel, bias = layer.weights
        return [t(kernel).permute(3, 2, 0, 1), t(bias)]

    def norm(layer: Any, order: torch.Tensor | None = None) -> list[torch.Tensor]:
        values = [t(v) for v in (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)]
        return [v[order] for v in values] if order is not None else values

    dense_kernel, dense_bias = (t(v) for v in g[0].weights)  # (100, 6272), (6272,)
    head_kernel, head_bias = (t(v) for v in d[-1].weights)  # (6272, 1), (1,)
    bn_names = ("weight", "bias", "running_mean", "running_var")
    named: dict[str, torch.Tensor] = {
        "generator.project.0.weight": dense_kernel.T[perm],
        "generator.project.0.bias": dense_bias[perm],
        **dict(zip((f"generator.project.2.{n}" for n in bn_names), norm(g[1], perm), strict=True)),
        **dict(zip(("generator.upsample.1.weight", "generator.upsample.1.bias"), conv(g[4]),
                   strict=True)),
        **dict(zip((f"generator.upsample.2.{n}" for n in bn_names), norm(g[5]), strict=True)),
        **dict(zip(("generator.upsample.5.weight", "generator.upsample.5.bias"), conv(g[8]),
                   strict=True)),
        **dict(zip(("discriminator.features.0.weight", "discriminator.features.0.bias"),
                   conv(d[0]), strict=True)),
        **dict(zip(("discriminator.features.3.weight", "discriminator.features.3.bias"),
                   conv(d[3]), strict=True)),
        "discriminator.classify.weight": head_kernel.T[:, perm],
        "discriminator.classify.bias": head_bias,
    }  # fmt: skip
    return named


def load_keras_weights(module: DCGANModule, recipe: KerasRecipe) -> None:
    """Copy the Keras models' weights and statistics into ``module`` (strict on names)."""
    state = keras_state(recipe)
    own = module.state_dict()
    missing = [name for name in state if name not in own]
    if missing:
        raise KeyError(f"the module has no {missing[0]}: build it with experiment=keras")
    with torch.no_grad():
        for name, value in state.items():
            own[name].copy_(value.reshape(own[name].shape))


class _FixedNoise(pl.Callback):
    """Hands the module the next noise batch before each training step."""

    def __init__(self, noises: Sequence[torch.Tensor]) -> None:
        self.noises = list(noises)

    def on_train_batch_start(self, trainer: pl.Trainer, module: Any, batch: Any, i: int) -> None:
        noise = self.noises[i].to(batch[0].dtype)
        module.draw_noise = lambda n: noise


class _Losses(pl.Callback):
    def __init__(self) -> None:
        self.d: list[float] = []
        self.g: list[float] = []

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self.d.append(float(trainer.callback_metrics["train/d_loss"]))
        self.g.append(float(trainer.callback_metrics["train/g_loss"]))


def train_project(
    module: DCGANModule,
    reals: Sequence[torch.Tensor],
    noises: Sequence[torch.Tensor],
    precision: Literal["32-true", "64-true"] = "32-true",
) -> tuple[list[float], list[float]]:
    """Train ``module`` one iteration per (real (B, 1, 28, 28) in [-1, 1], noise (B, 100))
    pair through Lightning, as ``dcgan-train`` does; the per-iteration D and G losses.
    ``precision="64-true"`` trains in double precision (noise and images are cast)."""
    batches = [(real, torch.zeros(len(real), dtype=torch.long)) for real in reals]
    losses = _Losses()
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, precision=precision, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        log_every_n_steps=1,
        limit_val_batches=0, callbacks=[_FixedNoise(noises), losses],
    )  # fmt: skip
    loader: DataLoader[Any] = DataLoader(batches, batch_size=None)  # type: ignore[arg-type]
    trainer.fit(module, train_dataloaders=loader)
    return losses.d, losses.g
