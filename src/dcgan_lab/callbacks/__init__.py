"""Lightning callbacks of the project."""

from dcgan_lab.callbacks.sample_grid import SampleGrid

__all__ = ["SampleGrid"]
