"""`composer check | train | export`: check, train and export graph files (docs/FORMAT.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    """One line per problem on stdout; exit 0 clean or warnings only, 1 errors, 2 unreadable."""
    from composer.analysis.checks import check
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
    counts = {s: sum(d.severity == s for d in problems) for s in ("error", "warning", "hint")}
    if not problems:
        groups = len(graph.groups)
        summary = f"no problems ({len(graph.nodes)} nodes, {groups} group{'s' * (groups != 1)})"
    else:
        summary = ", ".join(f"{n} {s}{'' if n == 1 else 's'}" for s, n in counts.items())
    print(f"{args.file}: {summary}")
    return 1 if counts["error"] else 0


def _stem(path: str) -> str:
    name = Path(path).name
    return name.removesuffix(".json").removesuffix(".graph") or "run"


def _train(args: argparse.Namespace) -> int:
    """Trains headless with a progress bar on stderr; a summary table on stdout at the end."""
    from composer.errors import ComposerError
    from composer.fileformat import load
    from composer.progress import Progress, summary_table
    from composer.runtime.script import plain_warnings
    from composer.train import train

    progress = Progress(sys.stderr)
    out = args.out if args.out is not None else Path("runs") / _stem(args.file)
    try:
        graph = load(args.file)
        with plain_warnings():  # a data warning: one line, not the source line
            run = train(graph, epochs=args.epochs, steps=args.steps, seed=args.seed,
                        device=args.device, out_dir=out, metrics_out=args.metrics_out,
                        resume=args.resume, checkpoint_every=args.checkpoint_every,
                        callback=progress)
    except ComposerError as e:
        progress({"kind": "end"})
        print(f"error: {e}", file=sys.stderr)
        return 1
    owner = {loss: g.id for g in graph.groups for loss in g.losses}
    print(summary_table(run.history, run.val, run.accuracy, owner))
    print(f"{run.status} after {run.steps} steps; checkpoint {run.checkpoint}"
          + (f"; metrics {args.metrics_out}" if args.metrics_out else ""))
    return 0


def _export(args: argparse.Namespace) -> int:
    """Writes the standalone training script."""
    from composer.errors import ComposerError
    from composer.fileformat import load
    from composer.fileformat.atomic_write import write_text_atomic
    from composer.generate.program import export_python

    try:
        source = export_python(load(args.file))
        write_text_atomic(args.output, source)  # a failure leaves an older export whole
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({len(source.splitlines())} lines); run: python {args.output}"
          " --help", file=sys.stderr)
    return 0


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a graph headless; write metrics and checkpoints")
    p.add_argument("file")
    p.add_argument("--epochs", type=int, help="replaces training.epochs")
    p.add_argument("--steps", type=int, help="stop after this many steps in all")
    p.add_argument("--seed", type=int, help="replaces training.seed")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--out", type=Path, help="folder for checkpoints (default runs/<file name>)")
    p.add_argument("--metrics-out", type=Path, help="write metrics here, one JSON object a line")
    p.add_argument("--resume", type=Path, help="continue from this checkpoint")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="also keep a checkpoint every N steps")
    p.set_defaults(run=_train)
    p = sub.add_parser("export", help="write a standalone Python file that trains the graph")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True, help="the .py file to write")
    p.set_defaults(run=_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="composer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate a graph file and list its problems")
    p.add_argument("file")
    p.set_defaults(run=_check)
    _train_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
