"""``dcgan-features data=...``: train and cache the dataset's FID feature extractor
(a classifier for labelled data, an autoencoder for unlabelled)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from dcgan_lab.cli.common import config_dir, exit_on_user_error, run_with_clear_errors
from dcgan_lab.metrics.build import extractor_for
from dcgan_lab.metrics.extractor import cache_stem


@hydra.main(config_path=config_dir(), config_name="features", version_base="1.3")
@exit_on_user_error("dcgan-features")
def hydra_main(cfg: DictConfig) -> None:
    data = hydra.utils.instantiate(cfg.data)
    _, info = extractor_for(data, cfg.metrics.cache_dir, cfg.metrics.extractor_steps, cfg.retrain)
    path = cache_stem(cfg.metrics.cache_dir, info)
    print(f"{info.dataset}: {info.describe()} ({path}.pt)")


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-features")


if __name__ == "__main__":
    main()
