"""dcgan-lab: config-driven DCGAN experiments with Lightning, Hydra and W&B."""

__version__ = "0.1.0"
