"""Lightning callbacks of the project."""

from dcgan_lab.callbacks.interrupt import CheckpointOnInterrupt
from dcgan_lab.callbacks.rng_state import RNGState
from dcgan_lab.callbacks.sample_grid import SampleGrid

__all__ = ["CheckpointOnInterrupt", "RNGState", "SampleGrid"]
