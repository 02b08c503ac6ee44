"""The entry points (dcgan-train, -sample, -eval, -features, -report) and their error lines.

Importing an entry point loads torch and Lightning, which takes seconds; Ctrl-C in that time
gets one line (nothing was started) instead of an import traceback; importing the package
as a library installs nothing. ``run_with_clear_errors`` puts Python's own handler back once
the entry point runs.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _prog() -> str:
    """The entry point's name: its console script, or ``python -m dcgan_lab.cli.<name>``'s."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name.startswith("dcgan-"):
        return name
    argv = getattr(sys, "orig_argv", [])
    if "-m" in argv[:-1]:
        module = argv[argv.index("-m") + 1]
        if module.startswith("dcgan_lab.cli."):
            return "dcgan-" + {"evaluate": "eval"}.get(
                module.rsplit(".", 1)[1], module.rsplit(".", 1)[1]
            )
    return "dcgan-lab"


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> None:
    prog = _prog()
    kept = "nothing was trained or saved" if prog == "dcgan-train" else "nothing was written"
    os.write(2, f"{prog}: interrupted while starting: {kept}\n".encode())
    os._exit(130)  # 128 + SIGINT; nothing to clean up yet


# Only when an entry point is starting (a console script, or ``python -m``): importing the
# package as a library (a notebook, the tests) leaves the signal handlers alone.
if _prog() != "dcgan-lab" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_loading)
