"""A run on disk: its folder layout, atomic writes, checkpoints, resume, status and loggers."""
