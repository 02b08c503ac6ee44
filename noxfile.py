"""Task runner: `nox` runs lint, typecheck and tests; `nox -s slow|fidelity|gpu` opt in."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


# What install_project puts in a session's venv; the project is installed editable, so only a
# change to these lists (pyproject.toml, torch-cpu.txt, DCGAN_LAB_TORCH) needs a new install.
EXTRAS = "dev,export,tensorboard,mlflow,ray,demo"
INSTALL_STAMP = "dcgan-lab-install.sha256"
PINNED_BY = ("pyproject.toml", "torch-cpu.txt")


def install_project(session: nox.Session) -> None:
    """torch as torch-cpu.txt pins it (a GPU machine sets DCGAN_LAB_TORCH to its own
    requirement instead, e.g. a CUDA build), then the project with its extras.

    A reused venv whose stamp matches skips pip (about 40 s of resolving per session);
    `nox --no-reuse-existing-virtualenvs` rebuilds it from scratch."""
    torch = os.environ.get("DCGAN_LAB_TORCH")
    torch_requirement = [torch] if torch else ["-r", "torch-cpu.txt"]
    inputs = [*torch_requirement, EXTRAS, *(Path(f).read_text() for f in PINNED_BY)]
    wanted = hashlib.sha256("\0".join(inputs).encode()).hexdigest()
    stamp = Path(session.virtualenv.location) / INSTALL_STAMP
    if stamp.is_file() and stamp.read_text() == wanted:
        session.log(f"install up to date ({', '.join(PINNED_BY)} unchanged)")
        return
    session.install(*torch_requirement)
    session.install("-e", f".[{EXTRAS}]")
    stamp.write_text(wanted)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and end-to-end tests that run on a 2-core CPU, offline."""
    install_project(session)
    # Two workers for the 2-core machines this runs on (pytest-xdist), one torch thread each
    # (tests/conftest.py); a test module stays on one worker, so its fixtures are built once.
    session.run(
        "pytest", "-n", "2", "--dist", "loadscope", "-m", "not slow and not gpu", *session.posargs
    )


@nox.session
def fidelity(session: nox.Session) -> None:
    """The Keras recipe checked against Keras itself (installs Keras 3, torch backend)."""
    install_project(session)
    session.install("-e", ".[fidelity]")
    session.run("pytest", "tests/fidelity", *session.posargs, env={"KERAS_BACKEND": "torch"})


@nox.session
def slow(session: nox.Session) -> None:
    """Long runs (opt-in)."""
    install_project(session)
    session.run("pytest", "-m", "slow", *session.posargs, success_codes=[0, 5])


@nox.session
def gpu(session: nox.Session) -> None:
    """Tests that need a CUDA device (opt-in)."""
    install_project(session)
    session.run("pytest", "-m", "gpu", *session.posargs, success_codes=[0, 5])


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    install_project(session)
    session.run("mypy")
