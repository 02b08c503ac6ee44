"""The exception types that reach the user as a single line instead of a traceback."""

from __future__ import annotations

import re

from omegaconf.errors import MissingMandatoryValue

# How Hydra's instantiate names the config node whose constructor failed.
FULL_KEY = re.compile(r"^full_key: (\S+)$", re.MULTILINE)


class UserError(Exception):
    """Bad input the user can fix: a config value, a missing or corrupt file.

    The message is one line saying what is wrong and how to fix it.
    """


class ArgumentError(UserError):
    """A bad constructor argument, named as the constructor knows it (``width``).

    ``template`` spells the argument as ``{name}``; the entry point, which knows where in the
    config the object was built, names the full key (``model.generator.width``) with ``at``.
    """

    def __init__(self, name: str, template: str) -> None:
        self.name, self.template = name, template
        super().__init__(template.format(name=name))

    def at(self, prefix: str) -> UserError:
        return UserError(self.template.format(name=f"{prefix}.{self.name}"))


class TrainingDiverged(UserError):
    """A loss or weight became NaN or infinite; the run stopped before saving that state."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training after writing a checkpoint to resume from.

    A KeyboardInterrupt, so a multirun stops too instead of going on to the next job.
    """


def user_error_in(err: BaseException) -> UserError | None:
    """The UserError behind ``err``: Hydra's instantiate wraps what constructors raise.

    An ``ArgumentError`` is named by the config key Hydra built the object at (its
    ``full_key: model.generator`` line). A required key left unset (``???``) counts too.
    """
    seen: BaseException | None = err
    full_key = None
    while seen is not None:
        if isinstance(seen, ArgumentError) and full_key:
            return seen.at(full_key)
        if isinstance(seen, UserError):
            return seen
        if isinstance(seen, MissingMandatoryValue):
            return UserError(f"{seen.full_key} is required: add {seen.full_key}=... to the command")
        found = FULL_KEY.search(str(seen))
        full_key = found.group(1) if found else full_key
        seen = seen.__cause__
    return None


def first_line(err: BaseException) -> str:
    """The first non-empty line of ``err`` or of the exceptions that caused it.

    A line that only announces the cause (``Error in call to target 'x.Y':``) is joined with
    the line that names it, and Hydra's hint for a key missing from the config
    (``To append to your config use +key=value``) is kept.
    """
    seen: BaseException | None = err
    while seen is not None:
        lines = [line.strip() for line in str(seen).splitlines() if line.strip()]
        if lines:
            line = lines[0]
            if line.endswith(":") and len(lines) > 1:
                line = f"{line} {lines[1]}"
            hint = next((h for h in lines[1:] if h.startswith("To append to your config")), None)
            return f"{line} {hint}" if hint else line
        seen = seen.__cause__
    return type(err).__name__
