"""Are a refactor's runs bit-identical? Short runs of the default, ``experiment=keras`` and
the conditional default, digested tensor by tensor, compared with another tree's digests.

    python benchmarks/same_results.py digest --tree . --out before.json   # at the old commit
    python benchmarks/same_results.py digest --tree . --out after.json
    python benchmarks/same_results.py compare before.json after.json

``digest`` runs ``dcgan-train`` from ``--tree`` (its ``src/`` and ``conf/``, not the
installed package) with one torch thread. Each run's ``last.ckpt`` and ``best.ckpt`` are
digested without their ``hyper_parameters`` (a refactor may regroup keys) and timing keys;
``metrics.csv`` is digested whole. ``compare`` prints every entry that differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

RUNS: dict[str, list[str]] = {
    "default": ["trainer.max_epochs=2", "trainer.limit_train_batches=30"],
    "keras": ["experiment=keras", "trainer.max_epochs=2", "trainer.limit_train_batches=30"],
    "conditional": [
        "model.conditional=true",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=30",
    ],
}
COMMON = ["trainer.max_time=null", "logger=csv", "trainer.enable_progress_bar=false",
          "metrics.n_fake=200", "seed=7"]  # fmt: skip
# Checkpoint keys that hold wall-clock readings or the config as written, not results.
UNTIMED = {"hyper_parameters", "loops", "callbacks", "pytorch-lightning_version"}


def digest(value: Any, prefix: str, into: dict[str, str]) -> None:
    """A sha256 per tensor (dtype, shape and bytes) or plain value, keyed by its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            digest(item, f"{prefix}/{key}", into)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            digest(item, f"{prefix}/{i}", into)
    elif isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous()
        raw = data.reshape(-1).view(torch.uint8).numpy().tobytes()
        into[prefix] = hashlib.sha256(f"{data.dtype}{tuple(data.shape)}".encode() + raw).hexdigest()
    else:
        into[prefix] = hashlib.sha256(repr(value).encode()).hexdigest()


def run_digests(tree: Path, name: str, overrides: list[str], out: Path) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled",
           "PYTHONPATH": str(tree / "src")}  # fmt: skip
    command = [sys.executable, "-m", "dcgan_lab.cli.train", *overrides, *COMMON,
               f"hydra.run.dir={out}"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tree)
    if result.returncode:
        raise SystemExit(f"{name}: exit {result.returncode}: {result.stderr.strip()[-600:]}")
    digests: dict[str, str] = {}
    for ckpt in ("last", "best"):
        state = torch.load(out / "checkpoints" / f"{ckpt}.ckpt", weights_only=False)
        kept = {key: value for key, value in state.items() if key not in UNTIMED}
        digest(kept, f"{name}/{ckpt}", digests)
    lines = (out / "csv" / "metrics.csv").read_text().splitlines()
    digests[f"{name}/metrics.csv"] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    print(f"{name}: {len(digests)} entries; metrics.csv {len(lines)} lines", flush=True)
    return digests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("digest")
    make.add_argument("--tree", type=Path, default=Path("."))
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--runs", default=",".join(RUNS))
    compare = sub.add_parser("compare")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "digest":
        digests: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.runs.split(","):
                runs_dir = Path(tmp) / name
                digests |= run_digests(args.tree.resolve(), name, RUNS[name], runs_dir)
        args.out.write_text(json.dumps(digests, indent=1, sort_keys=True))
        return
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for key in differ:
        print(f"differs: {key} ({'missing before' if key not in before else ''}"
              f"{'missing after' if key not in after else ''})")  # fmt: skip
    same = len(before.keys() | after.keys()) - len(differ)
    print(f"{same} of {len(before.keys() | after.keys())} entries identical")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
