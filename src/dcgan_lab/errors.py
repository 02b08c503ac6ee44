"""The one exception type that reaches the user as a single line instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input the user can fix: a config value, a missing or corrupt file.

    The message is one line saying what is wrong and how to fix it.
    """


class TrainingDiverged(UserError):
    """A loss or weight became NaN or infinite; the run stopped before saving that state."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training after writing a checkpoint to resume from.

    A KeyboardInterrupt, so a multirun stops too instead of going on to the next job.
    """
