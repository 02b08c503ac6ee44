"""Shared plumbing of the console scripts: where the configs live, and one-line errors."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dcgan_lab.errors import TrainingDiverged, UserError, first_line, user_error_in


def choose(condition: object, if_true: object, if_false: object) -> object:
    """``${dcgan.if:${model.conditional},100,16}``: one value or the other (conf/latent/)."""
    return if_true if condition else if_false


def conditioning_classes(conditional: object, data_classes: object, clusters: object) -> object:
    """``${dcgan.classes:${model.conditional},${data.num_classes},${model.self_conditioning.
    clusters}}``: the classes G and D condition on, the data's or (clusters) the cluster count."""
    return clusters if conditional == "clusters" else data_classes


def labelled(num_classes: object) -> bool:
    """``${dcgan.labelled:${data.num_classes}}``: true when the data has classes, the default
    of model.conditional (an image folder's class count is known once it is read)."""
    return bool(num_classes)


def on_labels(conditional: object) -> bool:
    """``${dcgan.on_labels:${model.conditional}}``: true when G and D condition on the data's
    labels (``model.conditional=true``), false unconditional or on clusters."""
    return conditional is True


OmegaConf.register_new_resolver("dcgan.if", choose, replace=True)
OmegaConf.register_new_resolver("dcgan.on_labels", on_labels, replace=True)
OmegaConf.register_new_resolver("dcgan.labelled", labelled, replace=True)
OmegaConf.register_new_resolver("dcgan.classes", conditioning_classes, replace=True)


def config_dir() -> str:
    """``conf/`` inside an installed wheel, else the repository's ``conf/`` (editable install)."""
    packaged = Path(__file__).parents[1] / "conf"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).resolve().parents[3] / "conf")


T = TypeVar("T")


def fail(prog: str, message: str, code: int = 2) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


def exit_code(err: UserError) -> int:
    """2 for bad input, 3 for a run that diverged."""
    return 3 if isinstance(err, TrainingDiverged) else 2


def require_writable(key: str, path: Path, folder: bool) -> None:
    """Bad output paths refused before any work: ``path`` (a file, or with ``folder`` a
    folder) must not be the other kind, and its nearest existing parent must be a
    writable folder."""
    if path.exists() and path.is_dir() != folder:
        kind = "a folder" if path.is_dir() else "a file"
        raise UserError(f"{key}={path} is {kind}; give a {'folder' if folder else 'file'} path")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        why = "is not a folder" if not parent.is_dir() else "is not writable"
        raise UserError(f"{key}={path}: {parent} {why}; choose another {key}")


def discard_rejected_output() -> None:
    """A rejected call leaves no folder behind: Hydra's output folder, when it holds only
    Hydra's own record (``.hydra/``, the job log), is removed, then the parents that this
    left empty (the date folder, ``outputs/<tool>``, ``outputs``), never the working folder."""
    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    if not out.is_dir() or out.resolve() == Path.cwd().resolve():
        return
    hydras_own = {hydra_cfg.output_subdir, f"{hydra_cfg.job.name}.log"}
    if any(entry.name not in hydras_own for entry in out.iterdir()):
        return
    shutil.rmtree(out, ignore_errors=True)
    for parent in list(out.parents)[:3]:  # <date>/, outputs/<tool>/, outputs/
        if parent.resolve() == Path.cwd().resolve() or any(parent.iterdir()):
            break
        parent.rmdir()


def exit_on_user_error(
    prog: str, discard_output: bool = False
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a Hydra task: in a single run, bad input exits 2 with one line (and with
    ``discard_output``, leaves no empty output folder).

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
                if HydraConfig.get().mode != RunMode.RUN:
                    raise
                if discard_output:
                    discard_rejected_output()
                if found is not None:
                    fail(prog, str(found), exit_code(found))
                if isinstance(err, HydraException):  # a library's error from instantiate
                    fail(prog, first_line(err))  # (before Hydra adds its own stderr line)
                raise

        return wrapper

    return decorate


def one_line(err: BaseException, prog: str) -> str:
    """The one line a user reads for bad input (the CLI prints it after ``<prog>: error:``;
    the Python API raises it): the project's own message, Hydra's missing option or bad
    override named, or the first line of a library's error."""
    found = user_error_in(err)
    if isinstance(err, MissingConfigException):
        return describe_missing_config(err)
    if found is not None:
        return str(found)
    return describe_override_error(err, prog)  # bad override syntax or key


def describe_missing_config(err: MissingConfigException) -> str:
    """'unknown width 'huge'; choose one of: base, narrow, wide' from Hydra's long message."""
    missing = err.missing_cfg_file or ""
    group, _, option = missing.rpartition("/")
    # Hydra names no options for a choice inside a list (logger=[csv,nope]): read the group.
    options = err.options or [p.stem for p in (Path(config_dir()) / group).glob("*.yaml")]
    if group and options:
        return f"unknown {group} '{option}'; choose one of: {', '.join(sorted(options))}"
    return first_line(err)


# Config groups mounted at another package, and how to choose them on the command line.
MOUNTED_GROUPS = {
    "optimizer": "the optimizer is chosen per network: write optimizer_pair=NAME for both, or "
    "optimizer@model.g_optimizer=NAME / optimizer@model.d_optimizer=NAME for one",
    "loss@model.loss": "write loss=NAME (bce, hinge, lsgan, wgan_gp, acgan)",
}


def describe_override_error(err: BaseException, prog: str) -> str:
    """Hydra's first line, with what to write instead for a mounted group's bare name."""
    line = first_line(err)
    for group, advice in MOUNTED_GROUPS.items():
        if line.startswith(f"Could not override '{group}'"):
            return f"cannot set {group}= directly; {advice}"
    if line.startswith("Error in call to target"):  # a constructor's own error, named
        return line
    return f"{line} (see `{prog} --help` for the config groups)"


# What Ctrl-C before any saved work means, per entry point.
NOTHING_KEPT = {
    "dcgan-train": "interrupted before training started: nothing was trained or saved",
    "dcgan-sample": "interrupted: no samples were written",
    "dcgan-eval": "interrupted: no scores were written",
    "dcgan-features": "interrupted: the feature extractor was not saved",
    "dcgan-report": "interrupted: no report was written",
    "dcgan-demo": "stopped: the page is no longer served",
}


def terminated_as_interrupted(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a scheduler) is handled as Ctrl-C: one line, exit 130, and the
    clean-ups of an interrupt (no half-written cache entry; during training, a checkpoint:
    Lightning's own SIGTERM handler calls this one after its own)."""
    raise KeyboardInterrupt


def quiet_exit_on_broken_pipe() -> None:
    """Exit 141 (128 + SIGPIPE, as ``git log | head`` does) without a message, with stdout
    pointed at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


def run_with_clear_errors(app: Callable[[], object], prog: str) -> None:
    """Run a Hydra app; bad input exits 2 with one line on stderr instead of a traceback.

    Hydra prints its own multi-line reports unless HYDRA_FULL_ERROR is set, so it is set
    here and the errors are formatted below. A user who set it gets the full traceback.
    """
    wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    if handlers[signal.SIGINT] is not signal.SIG_IGN:  # loaded: Ctrl-C is ours again
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if handlers[signal.SIGTERM] is signal.SIG_DFL:  # not ignored by a parent
        signal.signal(signal.SIGTERM, terminated_as_interrupted)
    try:
        run_reporting_errors(app, prog, wants_traceback)
    finally:  # called from Python (a notebook, a test): leave no handler of ours behind
        for signum, handler in handlers.items():
            if handler is not None:
                signal.signal(signum, handler)


def run_reporting_errors(app: Callable[[], object], prog: str, wants_traceback: bool) -> None:
    """``app()``, with each failure a user can fix turned into one line and an exit code."""
    try:
        app()
    except KeyboardInterrupt as err:  # Ctrl-C: 128 + SIGINT, as shells report it
        # A message: training had started and saved a checkpoint (TrainingInterrupted says
        # where). None: Ctrl-C came before any work was kept.
        print(f"{prog}: {str(err) or NOTHING_KEPT.get(prog, 'interrupted')}", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # `dcgan-train --help | head`: the reader left; say nothing
        quiet_exit_on_broken_pipe()
    except (UserError, HydraException, OmegaConfBaseException) as err:
        if wants_traceback:
            raise
        fail(prog, one_line(err, prog))
    except OSError as err:  # an unwritable hydra.run.dir, a full disk (after Hydra's: see above)
        if wants_traceback:
            raise
        fail(
            prog,
            f"cannot write {err.filename or 'output'}: {err.strerror or err} "
            "(choose a writable hydra.run.dir or free disk space)",
        )
