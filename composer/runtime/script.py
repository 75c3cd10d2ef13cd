"""The command line of an exported training script: the options `composer train` has, the
event stream a watching program reads (`--events`), and a stop on SIGTERM or SIGINT that ends
the run after its step, as the window's Stop does."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from composer.runtime.board import open_tensorboard
from composer.runtime.distributed import (
    PeerLost,
    processes_from_env,
    report_rank,
    stderr_to_launcher,
)
from composer.runtime.errors import DataSourceError, TrainingFailure
from composer.runtime.groups import Program
from composer.runtime.loop import train
from composer.runtime.precision import PRECISIONS, compile_line
from composer.runtime.previews import json_event


def script_parser(program: Program, script_dir: Path | None = None) -> argparse.ArgumentParser:
    about = f"Trains {program.name!r} as Model Composer does; metrics are one JSON object a line."
    if "%(prog)" in about:  # argparse then %-formats the text: the name's own % stay as they are
        about = about.replace("%", "%%")
    parser = argparse.ArgumentParser(description=about)
    parser.add_argument("--epochs", type=int, help=f"epochs to train (default {program.epochs})")
    parser.add_argument("--steps", type=int, help="stop after this many steps in all")
    parser.add_argument("--seed", type=int, help=f"random seed (default {program.seed})")
    parser.add_argument("--device", help=f"cpu, cuda, mps or auto (default {program.device})")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help=f"forward passes in this precision (default {program.precision})")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction,
                        help="run the model through torch.compile (default "
                        f"{'on' if program.compile else 'off'})")
    parser.add_argument("--metrics-out", type=Path, help="write metrics here (JSON lines)")
    parser.add_argument("--resume", type=Path, help="continue from this checkpoint")
    parser.add_argument("--out", type=Path, default=Path("run"),
                        help="folder for checkpoints (default ./run)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also keep a checkpoint every N steps")
    parser.add_argument("--events", metavar="PATH",
                        help="write every training event here, one JSON object a line "
                        "('-': stdout)")
    parser.add_argument("--tensorboard", type=Path, metavar="DIR",
                        help="also write the curves (and preview images) for TensorBoard "
                        "here; needs the tensorboard package")
    parser.add_argument("--watch", type=watch_list, metavar="NODE.PORT,...",
                        help="send these outputs, computed on a fixed validation batch, as "
                        "preview events after each epoch")
    where = "this script's folder" if script_dir is not None else "the current folder"
    parser.add_argument("--data-dir", type=Path, default=script_dir,
                        help=f"where relative data paths start (default: {where})")
    return parser


def watch_list(text: str) -> list[str]:
    """`--watch g_img.out,d.x`: the outputs, in order, each once."""
    return list(dict.fromkeys(ref.strip() for ref in text.split(",") if ref.strip()))


def print_epoch(event: dict[str, Any]) -> None:
    """One line on stderr per validation: the mean loss (and accuracy) of each loss node;
    and, for a compiled model, how long its first step (which compiles) took."""
    if "compile_s" in event:
        print(compile_line(event["compile_s"]), file=sys.stderr)
    if event["kind"] != "epoch":
        return
    parts = [f"{node} {value:.4f}" for node, value in event["val"].items()]
    parts += [f"{node} acc {value:.3f}" for node, value in event["accuracy"].items()]
    print(f"epoch {event['epoch']} (step {event['step']}): {', '.join(parts)}", file=sys.stderr)


def plain_warning(message: Warning | str, category: type, filename: str, lineno: int,
                  line: str | None = None) -> str:
    """A warning as one line (`warning: t: batch_size 64 is more than ...`), without the source line
    that raised it."""
    return f"warning: {message}\n"


@contextlib.contextmanager
def plain_warnings() -> Iterator[None]:
    """Warnings print as one line each while the block runs."""
    previous, warnings.formatwarning = warnings.formatwarning, plain_warning
    try:
        yield
    finally:
        warnings.formatwarning = previous


class EventStream:
    """Every training event as one JSON object a line, flushed at once, so that a program
    watching the run (the application) sees each step as it ends. A reader that goes away (a
    closed pipe) asks the run to stop: it ends after its step with its checkpoint."""

    def __init__(self, path: str | Path | None) -> None:
        self.gone = False
        self.file: TextIO | None = None
        if path is not None:
            self.file = sys.stdout if str(path) == "-" else open(path, "w", encoding="utf-8")

    def __call__(self, event: dict[str, Any]) -> str | None:
        if self.file is not None and not self.gone:
            try:
                self.file.write(json.dumps(json_event(event)) + "\n")
                self.file.flush()
            except BrokenPipeError:
                self.gone = True
                # Writes to the closed pipe would fail again at exit: they go nowhere now.
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.file.fileno())
        return "stop" if self.gone else None

    def error(self, error: Exception) -> None:
        """The last event of a failed run: its one-line message and the place it names."""
        self({"kind": "error", "message": str(error), "node": getattr(error, "node", None),
              "group": getattr(error, "group", None), "step": getattr(error, "step", None)})

    def close(self) -> None:
        if self.file is not None and self.file is not sys.stdout:
            self.file.close()


class StopOnSignal:
    """While the block runs, SIGTERM or SIGINT ends the run after its current step as a stop
    (the last validation and the checkpoint are written), not in the middle of an update; a
    second signal ends the process at once. Handlers exist only on the main thread."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self.told = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            return
        self.received = number

    def __call__(self, event: dict[str, Any]) -> str | None:
        if self.received is None:
            return None
        if not self.told:
            self.told = True
            print(f"{signal.Signals(self.received).name}: stopping after this step (send it "
                  "again to end at once)", file=sys.stderr)
        return "stop"


def all_of(*callbacks: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """One training callback that calls each in turn: "stop" when any of them says so, else
    "preview" when any asks for one."""
    def call(event: dict[str, Any]) -> str | None:
        answers = [callback(event) for callback in callbacks]
        return next((a for a in ("stop", "preview") if a in answers), None)
    return call


def command_line(program: Program, argv: list[str] | None = None,
                 script_dir: Path | None = None) -> int:
    """Parses the options, trains, and returns the exit status (1 with a message on failure).

    `script_dir`, the exported script's own folder, is where relative data paths start unless
    `--data-dir` says otherwise; it travels with the script, so a moved copy finds its data.
    """
    args = script_parser(program, script_dir).parse_args(argv)
    procs = processes_from_env()  # under torchrun: this process's rank among several
    rank = f"rank {procs.rank}: " if procs.many else ""
    if procs.many:
        stderr_to_launcher(procs.rank)
    try:
        events = EventStream(args.events if procs.rank == 0 else None)  # rank 0 reports
    except OSError as e:
        print(f"error: cannot write events to {args.events}: {e.strerror or e}", file=sys.stderr)
        return 1
    board = None
    try:
        if args.tensorboard is not None and procs.rank == 0:  # rank 0 reports
            board = open_tensorboard(args.tensorboard)
        with plain_warnings(), StopOnSignal() as stop:
            run = train(program, epochs=args.epochs, steps=args.steps, seed=args.seed,
                        device=args.device, data_dir=args.data_dir, out_dir=args.out,
                        metrics_out=args.metrics_out, resume=args.resume,
                        checkpoint_every=args.checkpoint_every,
                        callback=all_of(events, print_epoch, stop, *([board] if board else [])),
                        precision=args.precision, compile=args.compile, procs=procs,
                        watch=args.watch)
    except (TrainingFailure, DataSourceError) as e:
        events.error(e)
        told = report_rank(procs.rank, "failed", {
            "message": f"{rank}{e}", "peer": isinstance(e, PeerLost),
            **{k: getattr(e, k, None) for k in ("node", "group", "step")}})
        if not told:  # else `composer train --nproc` prints the first process's failure
            print(f"error: {rank}{e}", file=sys.stderr)
        return 1
    finally:
        events.close()
        if board is not None:
            board.close()
    report_rank(procs.rank, "done", {"status": run.status, "step": run.steps})
    if procs.rank == 0:
        print(f"{run.status} after {run.steps} steps; checkpoint: {run.checkpoint}",
              file=sys.stderr)
    return 0
