"""Shared plumbing of the console scripts: where the configs live, and one-line errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from dcgan_lab.errors import TrainingDiverged, UserError


def config_dir() -> str:
    """``conf/`` inside an installed wheel, else the repository's ``conf/`` (editable install)."""
    packaged = Path(__file__).parent / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")


T = TypeVar("T")


def user_error_in(err: BaseException) -> UserError | None:
    """The UserError behind ``err``: Hydra's instantiate wraps what constructors raise.

    A required key left unset (``???``) counts as one too.
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, UserError):
            return seen
        if isinstance(seen, MissingMandatoryValue):
            return UserError(f"{seen.full_key} is required: add {seen.full_key}=... to the command")
        seen = seen.__cause__
    return None


def first_line(err: BaseException) -> str:
    """The first non-empty line of ``err`` or of the exceptions that caused it."""
    seen: BaseException | None = err
    while seen is not None:
        for line in str(seen).splitlines():
            if line.strip():
                return line.strip()
        seen = seen.__cause__
    return type(err).__name__


def fail(prog: str, message: str, code: int = 2) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def exit_code(err: UserError) -> int:
    """2 for bad input, 3 for a run that diverged."""
    return 3 if isinstance(err, TrainingDiverged) else 2


def exit_on_user_error(prog: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a Hydra task: in a single run, bad input exits 2 with one line.

    In a multirun the error is re-raised so Hydra marks that job failed and the
    sweep goes on.
    """

    def decorate(task: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(task)
        def wrapper(*args: object, **kwargs: object) -> T:
            try:
                return task(*args, **kwargs)
            except Exception as err:
                found = user_error_in(err)
                if found is None or HydraConfig.get().mode != RunMode.RUN:
                    raise
                fail(prog, str(found), exit_code(found))
                raise  # unreachable: fail() exits

        return wrapper

    return decorate


def describe_missing_config(err: MissingConfigException) -> str:
    """'unknown width 'huge'; choose one of: base, narrow, wide' from Hydra's long message."""
    missing = err.missing_cfg_file or ""
    group, _, option = missing.rpartition("/")
    if group and err.options:
        return f"unknown {group} '{option}'; choose one of: {', '.join(sorted(err.options))}"
    return first_line(err)


def run_with_clear_errors(app: Callable[[], object], prog: str) -> None:
    """Run a Hydra app; bad input exits 2 with one line on stderr instead of a traceback.

    Hydra prints its own multi-line reports unless HYDRA_FULL_ERROR is set, so it is set
    here and the errors are formatted below. A user who set it gets the full traceback.
    """
    wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        app()
    except KeyboardInterrupt as err:  # Ctrl-C: 128 + SIGINT, as shells report it
        print(f"{prog}: {err or 'interrupted'}", file=sys.stderr)
        sys.exit(130)
    except (UserError, HydraException, OmegaConfBaseException) as err:
        if wants_traceback:
            raise
        found = user_error_in(err)
        if isinstance(err, MissingConfigException):
            message = describe_missing_config(err)
        elif found is not None:
            message = str(found)
        else:  # bad override syntax or key: Hydra's first line names it
            message = f"{first_line(err)} (see `{prog} --help` for the config groups)"
        fail(prog, message)
    except OSError as err:  # an unwritable hydra.run.dir, a full disk (after Hydra's: see above)
        if wants_traceback:
            raise
        fail(
            prog,
            f"cannot write {err.filename or 'output'}: {err.strerror or err} "
            "(choose a writable hydra.run.dir or free disk space)",
        )
