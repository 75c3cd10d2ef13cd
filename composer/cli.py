"""`composer check | train | export | weights | runs | sweep`: check, train and export graph
files (docs/FORMAT.md), give their nodes pretrained weights, list and compare their runs, and
sweep one setting over several values."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from composer.cli_sweep import sweep_parser


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


def _run_folder(args: argparse.Namespace) -> Path:
    """`--out DIR` exactly; else a new run folder in `<graph's folder>/runs/<stem>/`."""
    from composer.runs import new_run_folder, runs_root

    return args.out if args.out is not None else new_run_folder(runs_root(args.file))


def _train(args: argparse.Namespace) -> int:
    """Trains headless with a progress bar on stderr; a summary table at the end, on stdout
    unless the events go there (`--events -`). SIGTERM or SIGINT stops after the step. The
    run is recorded in its run folder (composer/runs.py), also when it fails."""
    from composer.errors import ComposerError
    from composer.fileformat import load
    from composer.progress import Progress, summary_table
    from composer.runs import data_dir_of, train_run
    from composer.runtime.script import EventStream, StopOnSignal, all_of, plain_warnings
    from composer.train import TENSORBOARD_EXTRA, has_tensorboard

    progress = Progress(sys.stderr)
    report = sys.stderr if args.events == "-" else sys.stdout
    if args.data_dir is None:  # a run folder's graph.json finds the data it trained on
        args.data_dir = data_dir_of(args.file)
    if args.tensorboard is not None and not has_tensorboard():  # before any run folder
        print(f"error: --tensorboard needs {TENSORBOARD_EXTRA}", file=sys.stderr)
        return 1
    if args.nproc != 1:
        return _train_processes(args)
    try:
        events = EventStream(args.events)
    except OSError as e:
        print(f"error: cannot write events to {args.events}: {e.strerror or e}", file=sys.stderr)
        return 1
    try:
        graph = load(args.file)
        if args.data_dir is not None:
            graph.base_dir = args.data_dir.resolve()
        out = _run_folder(args)
        with plain_warnings(), StopOnSignal() as stop:  # a warning: one line
            run = train_run(graph, out, label=args.label, graph_file=args.file,
                            metrics_out=args.metrics_out, epochs=args.epochs, steps=args.steps,
                            seed=args.seed, device=args.device, resume=args.resume,
                            checkpoint_every=args.checkpoint_every,
                            callback=all_of(events, progress, stop),
                            precision=args.precision, compile=args.compile,
                            tensorboard=args.tensorboard, watch=args.watch)
    except ComposerError as e:
        progress({"kind": "end"})
        events.error(e)
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        events.close()
    owner = {loss: g.id for g in graph.groups for loss in g.losses}
    print(summary_table(run.history, run.val, run.accuracy, owner), file=report)
    print(f"{run.status} after {run.steps} steps; checkpoint {run.checkpoint}"
          + (f"; metrics {args.metrics_out}" if args.metrics_out else ""), file=report)
    print(f"run {out}", file=report)
    return 0


def _train_processes(args: argparse.Namespace) -> int:
    """`--nproc N`: the program runs under torch.distributed.run; its output is rank 0's."""
    from composer.errors import ComposerError, TrainingError
    from composer.fileformat import load
    from composer.launch import train_processes
    from composer.runs import METRICS_FILE, RunRecorder

    if args.nproc < 1:
        print(f"error: --nproc must be 1 or more, got {args.nproc}", file=sys.stderr)
        return 1
    passed = {"--epochs": args.epochs, "--steps": args.steps, "--seed": args.seed,
              "--device": args.device, "--metrics-out": args.metrics_out,
              "--resume": args.resume, "--checkpoint-every": args.checkpoint_every,
              "--events": args.events, "--precision": args.precision,
              "--tensorboard": args.tensorboard,
              "--watch": ",".join(args.watch) if args.watch else None}
    try:
        graph = load(args.file)
        if args.data_dir is not None:
            graph.base_dir = args.data_dir.resolve()
        out = _run_folder(args)
        recorder = RunRecorder(out, graph, label=args.label, processes=args.nproc,
                               graph_file=args.file, options={
                                   "epochs": args.epochs, "steps": args.steps,
                                   "seed": args.seed, "device": args.device,
                                   "precision": args.precision, "compile": args.compile,
                                   "resume": args.resume,
                                   "checkpoint_every": args.checkpoint_every})
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.metrics_out is None:
        passed["--metrics-out"] = out / METRICS_FILE
    options = [str(x) for k, v in passed.items() if v is not None for x in (k, v)]
    if args.compile is not None:
        options.append("--compile" if args.compile else "--no-compile")
    try:
        status, failure = train_processes(graph, args.nproc, out, options)
    except ComposerError as e:
        recorder.finish("failed", metrics_from=args.metrics_out, error=e)
        print(f"error: {e}", file=sys.stderr)
        return 1
    recorder.finish(status, metrics_from=args.metrics_out,
                    error=None if failure is None else TrainingError(
                        failure["message"], failure["node"], failure["group"], failure["step"]))
    return 0 if failure is None else 1


def _runs(args: argparse.Namespace) -> int:
    """Lists a graph's runs, newest first; with --diff A B what differs between two of them
    and their final metrics. Exit 0, or 1 when a run cannot be found or read."""
    from composer.errors import ComposerError
    from composer.run_compare import compare, duration_text, key_metric, table_text
    from composer.runs import find_run, list_runs, runs_root

    root = runs_root(args.file)
    if args.diff:
        try:
            found = compare(*(find_run(root, key) for key in args.diff))
        except ComposerError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        a, b = found.runs
        print(f"graph {a.id} -> {b.id}: " + (f"{len(found.differences)} difference"
              f"{'s' * (len(found.differences) != 1)}" if found.differences else "the same"))
        for line in found.differences:
            print(f"  {line}")
        print()
        print(table_text(found.header, found.rows))
        return 0
    runs, skipped = list_runs(root)
    if not runs:
        print(f"no runs of {args.file} in {root}")
    else:
        rows = [[r.id, r.record.status, f"{r.record.steps} steps",
                 duration_text(r.record.duration_s), key_metric(r.record), r.record.label]
                for r in runs]
        print(table_text(["run", "status", "steps", "duration", "result", "label"], rows))
    for folder, reason in skipped:
        print(f"skipped {folder.name}: {reason}")
    return 0


def _runs_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list a graph's runs, or compare two of them")
    p.add_argument("file", help="the graph file whose runs (in runs/<its name>/ beside it) "
                   "are listed")
    p.add_argument("--diff", nargs=2, metavar=("A", "B"), help="two runs (ids, or run "
                   "folders): what differs between their graphs, and their final metrics")
    p.set_defaults(run=_runs)


def _export(args: argparse.Namespace) -> int:
    """Writes the standalone training script, or with --onnx the inference path as ONNX."""
    if args.onnx is not None:
        return _export_onnx(args)
    if args.weights is not None or args.outputs is not None:
        print("error: --weights and --outputs go with --onnx", file=sys.stderr)
        return 1
    from composer.errors import ComposerError
    from composer.fileformat import load
    from composer.fileformat.atomic_write import write_text_atomic
    from composer.generate.program import data_note, export_python

    try:
        graph = load(args.file)
        source = export_python(graph)
        write_text_atomic(args.output, source)  # a failure leaves an older export whole
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({len(source.splitlines())} lines); run: python {args.output}"
          " --help", file=sys.stderr)
    note = data_note(graph, Path(args.output))
    if note:
        print(note, file=sys.stderr)
    return 0


def _row_line(row) -> str:
    """One tensor of a match: `model [shape] <- file [shape]  status`."""
    from composer.runtime.weights import shape_text

    left = f"{row.model} {shape_text(row.model_shape)}" if row.model else "-"
    right = f"{row.file} {shape_text(row.file_shape)}" if row.file else "-"
    return f"  {left:<44} <- {right:<44} {row.status}"


def _weights(args: argparse.Namespace) -> int:
    """Prints where the file's tensors go; with --apply writes the weights keys. Exit 0 when
    everything fits, 1 when not (nothing written), 2 for an unreadable graph file."""
    from composer.errors import ComposerError, GraphFormatError
    from composer.fileformat import load, save
    from composer.weights import key_path, match_graph_weights, match_weights

    try:
        graph = load(args.file)
    except GraphFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pth = Path(args.weights).resolve()
    try:
        if args.node is not None:
            found = match_weights(graph, args.node, pth, args.prefix, args.match)
            matches, absent, unused = {args.node: found}, [], []
        elif args.match != "names":
            print("error: --match order pairs tensors by position, so it needs --node",
                  file=sys.stderr)
            return 1
        else:
            whole = match_graph_weights(graph, pth, args.prefix, args.skip)
            found, matches, absent, unused = whole, whole.nodes, whole.absent, whole.unused
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for node, m in matches.items():
        print(f"{node} <- {Path(args.weights).name} (prefix {m.prefix!r}, {m.match}): "
              f"{len(m.matched)} of {len(m.rows)} tensors fit")
        for row in m.rows:
            print(_row_line(row))
    for node in absent:
        print(f"{node}: {'skipped' if node in args.skip else 'not in the file'}; keeps its "
              "initial weights")
    if unused:
        print(f"left out: {len(unused)} tensors of the file that no node takes")
        for row in unused:
            print(_row_line(row))
    if not found.ok:
        print(f"error: {found.message()}", file=sys.stderr)
        return 1
    if args.apply:
        path = key_path(graph, pth)
        for node, m in matches.items():
            graph.set_weights(node, {"path": path, "prefix": m.prefix, "match": m.match})
        save(graph, args.file)
        print(f"wrote the weights key of {len(matches)} node{'s' * (len(matches) != 1)} "
              f"into {args.file}")
    return 0


def _weights_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="match a state_dict file to the graph's nodes; with "
                       "--apply, make them start from it")
    p.add_argument("file", help="the graph file")
    p.add_argument("weights", help="a PyTorch state_dict file (.pth, .pt)")
    p.add_argument("--node", help="the node or instance to load (default: every node the "
                   "file names)")
    p.add_argument("--prefix", default="", help="only the file's tensors under this name "
                   "prefix, which is stripped (layer1.0.)")
    p.add_argument("--match", choices=("names", "order"), default="names",
                   help="pair tensors by name (default) or by position (needs --node)")
    p.add_argument("--skip", action="append", default=[], metavar="NODE",
                   help="leave this node out when matching the whole graph (a new head)")
    p.add_argument("--apply", action="store_true", help="write the weights key(s) into the "
                   "graph file; refused when anything does not fit")
    p.set_defaults(run=_weights)


def _export_onnx(args: argparse.Namespace) -> int:
    """Writes the inference path to the chosen outputs as an ONNX file."""
    from composer.errors import ComposerError
    from composer.fileformat import load

    outputs = None
    if args.outputs is not None:
        outputs = [ref.strip() for ref in args.outputs.split(",") if ref.strip()]
    try:
        graph = load(args.file)
        from composer.export_onnx import export_onnx  # imports torch: after the file loaded

        done = export_onnx(graph, args.onnx, outputs, weights=args.weights)
    except ComposerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    weights = f"weights from {args.weights}" if args.weights else "initial weights (no --weights)"
    print(f"wrote {done.path}: inputs {_shapes(done.inputs)}; outputs {_shapes(done.outputs)}; "
          f"{weights}", file=sys.stderr)
    return 0


def _shapes(named: dict[str, list]) -> str:
    """`digits.x [batch,1,8,8], ...`"""
    return ", ".join(f"{k} [{','.join(str(d) for d in v)}]" for k, v in named.items())


def _watch_list(text: str) -> list[str]:
    from composer.runtime.script import watch_list  # as exported scripts read it

    return watch_list(text)


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a graph headless; write metrics and checkpoints")
    p.add_argument("file")
    p.add_argument("--epochs", type=int, help="replaces training.epochs")
    p.add_argument("--steps", type=int, help="stop after this many steps in all")
    p.add_argument("--seed", type=int, help="replaces training.seed")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"),
                   help="replaces training.precision")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction,
                   help="replaces training.compile: run the model through torch.compile")
    p.add_argument("--out", type=Path, help="the run's folder: graph, record, metrics and "
                   "checkpoints (default <file's folder>/runs/<file name>/<start time>)")
    p.add_argument("--label", default="", help="a few words kept in the run's record")
    p.add_argument("--metrics-out", type=Path, help="write metrics here, one JSON object a line")
    p.add_argument("--resume", type=Path, help="continue from this checkpoint")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="also keep a checkpoint every N steps")
    p.add_argument("--events", metavar="PATH", help="write every training event here, one "
                   "JSON object a line ('-': stdout; the summary then goes to stderr)")
    p.add_argument("--data-dir", type=Path, help="where relative data paths start (default: "
                   "the graph file's folder)")
    p.add_argument("--tensorboard", type=Path, metavar="DIR",
                   help="also write the curves (and preview images) for TensorBoard here "
                   "(needs the tensorboard extra)")
    p.add_argument("--watch", type=_watch_list, metavar="NODE.PORT,...",
                   help="with --events: send these outputs, computed on a fixed validation "
                   "batch, as preview events after each epoch")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train in N processes (torch.distributed.run; batch_size is the "
                   "global batch)")
    p.set_defaults(run=_train)
    p = sub.add_parser("export", help="write a standalone Python file that trains the graph, "
                       "or its inference path as ONNX")
    p.add_argument("file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("-o", "--output", help="the .py file to write")
    what.add_argument("--onnx", metavar="OUT.onnx",
                      help="write the inference path to --outputs as an ONNX file (needs the "
                      "onnx extra)")
    p.add_argument("--outputs", metavar="NODE.PORT,...",
                   help="with --onnx: the outputs to give (default: what the loss nodes score)")
    p.add_argument("--weights", metavar="CKPT",
                   help="with --onnx: a checkpoint or saved weights (default: initial weights)")
    p.set_defaults(run=_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="composer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate a graph file and list its problems")
    p.add_argument("file")
    p.set_defaults(run=_check)
    _train_parser(sub)
    _weights_parser(sub)
    _runs_parser(sub)
    sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
