"""Plain ``nn.Module`` networks: no Lightning, Hydra or logging in here."""

from dcgan_lab.models.discriminator import Discriminator, add_spectral_norm
from dcgan_lab.models.generator import Generator
from dcgan_lab.models.init import init_dcgan_weights

__all__ = ["Discriminator", "Generator", "add_spectral_norm", "init_dcgan_weights"]
