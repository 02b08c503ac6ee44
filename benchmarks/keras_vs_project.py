"""The Keras recipe's iterations per second in Keras 3 (torch backend) and in the project
(experiment=keras through Lightning), on the same batches and noise, side by side.

    KERAS_BACKEND=torch python benchmarks/keras_vs_project.py --iterations 200

Needs ``pip install -e '.[fidelity]'``. Alternates the two for ``--repeats`` rounds and
prints the medians and the ratio project / Keras.
"""

from __future__ import annotations

import argparse
import statistics
import time

import hydra
import numpy as np
import torch
from common import compose_config
from tests.fidelity.keras_recipe import KerasRecipe, load_keras_weights, train_project

from dcgan_lab.data.sources import Mnist5k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    images = Mnist5k().load().train_images.float() / 127.5 - 1.0  # (N, 1, 28, 28)
    rng = np.random.default_rng(0)
    reals = [images[rng.integers(0, len(images), 32)] for _ in range(args.iterations)]
    noises = [torch.randn(32, 100) for _ in range(args.iterations)]
    cfg = compose_config("experiment=keras", "paths.output_dir=/tmp/unused")
    keras_rates, project_rates = [], []
    for _ in range(args.repeats):
        recipe = KerasRecipe.build()
        start = time.perf_counter()
        for real, noise in zip(reals, noises, strict=True):
            recipe.iteration(real.permute(0, 2, 3, 1).numpy(), noise.numpy())
        keras_rates.append(args.iterations / (time.perf_counter() - start))
        module = hydra.utils.instantiate(cfg.model)
        load_keras_weights(module, recipe)
        start = time.perf_counter()
        train_project(module, reals, noises)
        project_rates.append(args.iterations / (time.perf_counter() - start))
    keras_it, project_it = statistics.median(keras_rates), statistics.median(project_rates)
    print(f"{'':10} {'iterations/s':>12}")
    print(f"{'keras':10} {keras_it:12.1f}")
    print(f"{'project':10} {project_it:12.1f}")
    print(f"project / keras: {project_it / keras_it:.2f}x ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
