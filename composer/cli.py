"""`composer check | train | export`: the command line of FORMAT.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _check(args: argparse.Namespace) -> int:
    """One line per problem on stdout; exit 0 clean or warnings only, 1 errors, 2 unreadable."""
    from composer.checks import check
    from composer.errors import GraphFormatError
    from composer.fileformat import load

    try:
        graph = load(args.file)
    except GraphFormatError as e:
        print(f"ERROR {e}")
        return 2
    problems = check(graph)
    for d in problems:
        print(f"{d.severity.upper()} {d.node or 'graph'}: {d.message}")
    errors = sum(d.is_error for d in problems)
    others = len(problems) - errors
    if not problems:
        summary = f"no problems ({len(graph.nodes)} nodes, {len(graph.groups)} groups)"
    else:
        summary = f"{errors} error(s), {others} warning(s) or hint(s)"
    print(f"{args.file}: {summary}", file=sys.stderr)
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="composer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate a graph file and list its problems")
    p.add_argument("file")
    p.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
