"""Plain ``nn.Module`` networks: no Lightning, Hydra or logging in here."""

from dcgan_lab.models.discriminator import Discriminator
from dcgan_lab.models.generator import Generator
from dcgan_lab.models.init import init_dcgan_weights

__all__ = ["Discriminator", "Generator", "init_dcgan_weights"]
