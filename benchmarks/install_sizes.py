"""Disk space each optional extra adds over the base install, read from the RECORD files of
the packages installed in the environment it runs in (which must hold the extras):

    python benchmarks/install_sizes.py tensorboard mlflow ray demo export

An extra's packages are its requirements and theirs, less those the base install has.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

INSTALLED = {
    re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d for d in metadata.distributions()
}


def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[Requirement], extra: str = "") -> set[str]:
    """Installed packages needed by ``requirements`` (with their own extras), recursively."""
    found: set[str] = set()
    todo = [(r, extra) for r in requirements]
    while todo:
        requirement, wanted = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": wanted}):
            continue
        name = key(requirement.name)
        if name in found or name not in INSTALLED:
            continue
        found.add(name)
        for text in INSTALLED[name].requires or []:
            sub = Requirement(text)
            for chosen in requirement.extras or {""}:
                todo.append((sub, chosen))
    return found


def size_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        dist = INSTALLED[name]
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def main() -> None:
    project = Requirement("dcgan-lab")
    base = closure([project]) - {"dcgan-lab"}
    print(f"base install: {size_mb(base):.0f} MB in {len(base)} packages (CPU torch included)")
    own = [Requirement(t) for t in INSTALLED["dcgan-lab"].requires or []]
    for extra in sys.argv[1:]:
        wanted = [r for r in own if r.marker and r.marker.evaluate({"extra": extra})]
        added = closure(wanted, extra) - base - {"dcgan-lab"}
        print(f"{extra}: +{size_mb(added):.0f} MB in {len(added)} packages")


if __name__ == "__main__":
    main()
