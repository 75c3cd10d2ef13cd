"""`composer sweep FILE --set TARGET --values A,B,C`: one run per value, then a table of their
results sorted by a metric; `--show [ID]` prints a past sweep's table again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from composer.run_compare import table_text


def sweep_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="train the graph once per value of one setting; a "
                       "results table sorted by a metric")
    p.add_argument("file", help="the graph file; its runs go into runs/<its name>/ beside it")
    p.add_argument("--set", metavar="TARGET", help="the setting to vary, as `composer runs "
                   "--diff` names it: \"group disc: lr\", \"node fc1: out_features\", "
                   "\"node mse: weight\", \"training: epochs\", \"network D, node fc1: "
                   "out_features\"")
    p.add_argument("--values", metavar="A,B,...", help="its values, separated by commas "
                   "(0.0005,0.0002,0.0001; lists in brackets: [0.5,0.9],[0.9,0.99])")
    p.add_argument("--steps", type=int, help="each run stops after this many steps")
    p.add_argument("--epochs", type=int, help="replaces training.epochs in each run")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--parallel", type=int, default=1, metavar="K", help="train K runs at a "
                   "time, each as a `composer train` process (default 1: one after another, in "
                   "this process)")
    p.add_argument("--sort", metavar="KIND:LOSS", help="the metric the table is sorted by: "
                   "val:LOSS (default: the first validation loss), train:LOSS, accuracy:LOSS; "
                   "losses lowest first, accuracy highest first")
    p.add_argument("--show", nargs="?", const="", metavar="ID", help="print the table of "
                   "the newest sweep of FILE, or of sweep ID, again; trains nothing")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every run finished (or the sweep was stopped), 1 when a run failed or the
    sweep could not start."""
    from composer.errors import ComposerError
    from composer.fileformat import load
    from composer.sweep import plan, sort_metric

    if args.show is not None:
        return show(args)
    if not args.set or not args.values:
        print("error: give --set TARGET and --values A,B,... (or --show)", file=sys.stderr)
        return 1
    if args.parallel < 1:
        print(f"error: --parallel must be 1 or more, got {args.parallel}", file=sys.stderr)
        return 1
    try:
        graph = load(args.file)
        metric = sort_metric(graph, args.sort) if args.sort else None
        sweep = plan(graph, args.set, args.values)
        return _train(args, sweep, metric)
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot write the runs folder: {e.strerror or e}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace, sweep, metric) -> int:
    from composer.progress import Progress
    from composer.runs import runs_root
    from composer.runtime.script import StopOnSignal, all_of, plain_warnings
    from composer.sweep_runner import SweepBook, run_sweep, threads_per_run

    book = SweepBook(sweep, runs_root(args.file), graph_file=args.file,
                     options={"steps": args.steps, "epochs": args.epochs,
                              "device": args.device},
                     parallel=args.parallel, sort=args.sort)
    count = len(sweep.variants)
    how = "one at a time" if args.parallel == 1 else \
        f"{args.parallel} at a time, {threads_per_run(args.parallel)} threads each"
    print(f"sweep {sweep.target.text}: {count} value{'s' * (count != 1)}, {how}; record "
          f"{book.path}", file=sys.stderr)

    def ended(index: int, run) -> None:
        label = sweep.variants[index].label
        if run is None:
            print(f"[{index + 1}/{count}] {label}: its run folder cannot be read",
                  file=sys.stderr)
            return
        r = run.record
        why = f": {r.error['message']}" if r.error else ""
        steps = f"{r.steps} step{'s' * (r.steps != 1)}"
        print(f"[{index + 1}/{count}] {label}: {r.status} after {steps}{why} (run {run.id})",
              file=sys.stderr)

    with plain_warnings(), StopOnSignal() as signals:
        status = run_sweep(book, args.parallel, stop=lambda: signals.received is not None,
                           callback=all_of(Progress(sys.stderr), signals), on_end=ended)
    _print_table(book.rows(), metric)
    failed = [r for r in book.rows() if r.status in ("failed", "missing")]
    for row in failed:
        error = row.run.record.error if row.run is not None else None
        message = (error or {}).get("message") or row.status
        print(f"error: run {row.label} failed: {message}", file=sys.stderr)
    print(f"sweep {status}: {book.path}", file=sys.stderr)
    return 1 if failed else 0


def _print_table(rows, metric) -> None:
    from composer.sweep_record import (
        default_metric,
        descending,
        metric_columns,
        metric_title,
        sort_rows,
        table,
    )

    metric = metric or default_metric(rows)
    header, cells = table(sort_rows(rows, metric), metric_columns(rows))
    print(table_text(header, cells))
    if metric is not None:
        order = "highest first" if descending(metric) else "lowest first"
        print(f"sorted by {metric_title(metric)}, {order}")


def show(args: argparse.Namespace) -> int:
    from composer.errors import ComposerError
    from composer.runs import runs_root
    from composer.sweep_record import find_sweep, parse_metric, read_record, rows_of

    root = runs_root(args.file)
    try:
        record = read_record(find_sweep(root, args.show or None))
        sort = args.sort or record.sort
        metric = parse_metric(sort) if sort else None
    except (ComposerError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"sweep {record.id}: {record.target}, {record.status}"
          + (f" ({Path(record.graph_file).name})" if record.graph_file else ""))
    _print_table(rows_of(record, root), metric)
    return 0
