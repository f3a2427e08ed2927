"""Command line: `python -m geo validate [DATA_DIR]`.

Bad data is reported as one line per problem and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from geo import dataset


def validate(args) -> int:
    data, problems = dataset.check(args.data_dir)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in {args.data_dir}", file=sys.stderr)
        return 1
    for key, value in data.summary().items():
        print(f"{key:>11}: {value}")
    print(f"{'version':>11}: {data.version}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m geo", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check every data file and the links between them")
    check.add_argument("data_dir", nargs="?", default=str(dataset.DATA_DIR))
    check.set_defaults(run=validate)
    return root


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)
