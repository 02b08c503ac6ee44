"""Layers point down only: a package folder never imports one above it (STYLE.md).

The rank of each folder of ``src/dcgan_lab``, highest first; a module may import its own
folder and any folder of a lower rank. The top-level modules ``images``, ``figures`` and
``targets`` (and ``errors`` below them) are the base every layer may use; they import no
folder themselves. ``api`` (the Python entry points) sits over the commands, and the package's
``__init__`` over it, re-exporting it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "dcgan_lab"
RANKS = {
    "__init__": 9,  # the package's face: re-exports the Python API (on first use)
    "api": 8,  # the Python entry points, over the commands' code
    "cli": 7,  # the entry points
    "export": 6,  # a trained generator as an ONNX / TorchScript file, and read back
    "demo": 6,  # the Gradio page over a checkpoint
    "training": 5,  # the LightningModule, its objective, EMA, scoring and grid callbacks
    "pictures": 4,  # figures of a model's samples: animations, walks, dcgan-eval's charts
    "metrics": 3,  # feature extractors and scores
    "data": 2,  # sources, splits, the datamodule, image files to score
    "report": 2,  # the sweep report and its plots, from run folders
    "runs": 1,  # the run folder, checkpoints, resume, loggers
    "models": 0,  # plain networks and sampling
    "images": -1, "figures": -1, "targets": -1,  # the base
    "errors": -2,  # the base's base: the one-line error types
}  # fmt: skip


def imported_folders(path: Path) -> set[str]:
    """The ``dcgan_lab.<folder>`` names a module imports (TYPE_CHECKING imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("dcgan_lab.")}
    return found


def folder_of(path: Path, package: Path = PACKAGE) -> str:
    relative = path.relative_to(package)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """'<module> imports dcgan_lab.<folder>' for each import of a folder not below its own."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        folder = folder_of(path, package)
        for target in imported_folders(path) - {folder}:
            if RANKS[target] >= RANKS[folder]:
                wrong.append(f"{path.relative_to(package)} imports dcgan_lab.{target}")
    return wrong


def test_every_folder_has_a_rank() -> None:
    assert {folder_of(p) for p in PACKAGE.rglob("*.py")} <= set(RANKS)


def test_no_folder_imports_one_above_or_beside_it() -> None:
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """A copy of the package with one upward import added fails the rule, naming it."""
    import shutil

    copy = tmp_path / "dcgan_lab"
    shutil.copytree(PACKAGE, copy)
    sampling = copy / "models" / "sampling.py"
    sampling.write_text(sampling.read_text() + "\nfrom dcgan_lab.training import module\n")
    assert upward_imports(copy) == ["models/sampling.py imports dcgan_lab.training"]
