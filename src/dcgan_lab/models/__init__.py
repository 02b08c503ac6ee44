"""Plain ``nn.Module`` networks: no Lightning, Hydra or logging in here.

One file per architecture (``keras``, ``dcgan``) on the shared ``base``; ``conf/model/``
holds one YAML file per architecture that builds them.
"""

from dcgan_lab.models.base import Discriminator, Generator, Network
from dcgan_lab.models.dcgan import DCGANDiscriminator, DCGANGenerator
from dcgan_lab.models.keras import KerasDiscriminator, KerasGenerator

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Discriminator",
    "Generator",
    "KerasDiscriminator",
    "KerasGenerator",
    "Network",
]
