"""Download of missing dataset files from a list of mirrors, failing fast when offline."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from dcgan_lab.errors import UserError
from dcgan_lab.runs.atomic import atomic_write

TIMEOUT_S = 10


def download_files(names: list[str], root: Path, mirrors: list[str], what: str, where: str) -> None:
    """Fetch each file from the first mirror that has it, written atomically into ``root``.

    ``where`` tells the user where to put the files by hand if no mirror can be reached.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create {root} for {what} ({err.strerror}); {where}") from None
    for name in names:
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                _fetch(url, root / name)
                print(f"downloaded {url}")
                break
            except (urllib.error.URLError, OSError) as err:
                errors.append(f"{url}: {getattr(err, 'reason', err)}")
        else:
            raise UserError(f"cannot download {what} ({errors[-1]}); offline? {where}")


def _fetch(url: str, dest: Path) -> None:
    # Through a temporary file beside the target, then a rename: no half-written data file.
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        atomic_write(dest, lambda out: shutil.copyfileobj(response, out))
