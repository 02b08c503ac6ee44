"""``dcgan-report SWEEP_DIR``: a Markdown report of a sweep's jobs, with plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dcgan_lab.cli.common import require_writable
from dcgan_lab.errors import UserError
from dcgan_lab.report.markdown import write_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="dcgan-report",
        description="Write a Markdown report of a sweep: FID curves, best runs, seeds.",
    )
    parser.add_argument(
        "sweep_dir", type=Path, help="a multirun directory, e.g. outputs/multiruns/<date>/<time>"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="report folder (default: <sweep_dir>/report)"
    )
    parser.add_argument(
        "--scores", type=Path, nargs="+", default=None, metavar="EVAL_JSON",
        help="dcgan-eval's scores of the sweep's checkpoints (dcgan-eval ckpt_path=<sweep_dir> "
        "draws=10 out=<file>): the report ranks and tabulates by their means over draws",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.out is not None:
            require_writable("--out", args.out, folder=True)
        report = write_report(args.sweep_dir, args.out, args.scores)
    except UserError as err:
        print(f"dcgan-report: error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        print(f"dcgan-report: error: cannot write {err.filename or 'the report'}: "
              f"{err.strerror or err}; choose another --out", file=sys.stderr)  # fmt: skip
        sys.exit(2)
    print(f"wrote {report}")


if __name__ == "__main__":
    main()
