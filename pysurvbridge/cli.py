"""The `pysurvbridge` command line.

    pysurvbridge doctor              what is installed and how to fix what is not
    pysurvbridge describe bladder1   a summary of a prepared data set
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from pysurvbridge.errors import SurvBridgeError


def _doctor(args: argparse.Namespace) -> int:
    from pysurvbridge import doctor

    return doctor.main()


def _describe(args: argparse.Namespace) -> int:
    from pysurvbridge.data.datasets import prepared

    data = prepared(args.dataset, source=args.source)
    print(f"{args.dataset} (source: {args.source})")
    print(data.describe())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pysurvbridge",
        description="Classical (R survival) and neural (PyTorch) survival models side by side.",
        epilog="examples:\n  pysurvbridge doctor\n  pysurvbridge describe bladder1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("doctor", help="check Python, torch, R, rpy2 and R packages; exit 1 "
                       "when the R engine is unusable")
    p.set_defaults(func=_doctor)
    p = sub.add_parser("describe", help="summarise a prepared data set",
                       epilog="example: pysurvbridge describe bladder1 --source csv")
    p.add_argument("dataset", choices=["bladder1", "bladder", "bladder2", "cgd", "rotterdam"])
    p.add_argument("--source", choices=["auto", "r", "csv"], default="auto",
                   help="load from R's survival or the CSV copy shipped with the package")
    p.set_defaults(func=_describe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except SurvBridgeError as exc:
        print(f"pysurvbridge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
