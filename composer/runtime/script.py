"""The command line of an exported training script: the options `composer train` has."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from composer.runtime.distributed import (
    PeerLost,
    processes_from_env,
    report_rank,
    stderr_to_launcher,
)
from composer.runtime.errors import DataSourceError, TrainingFailure
from composer.runtime.groups import Program
from composer.runtime.loop import train


def script_parser(program: Program, script_dir: Path | None = None) -> argparse.ArgumentParser:
    about = f"Trains {program.name!r} as Model Composer does; metrics are one JSON object a line."
    if "%(prog)" in about:  # argparse then %-formats the text: the name's own % stay as they are
        about = about.replace("%", "%%")
    parser = argparse.ArgumentParser(description=about)
    parser.add_argument("--epochs", type=int, help=f"epochs to train (default {program.epochs})")
    parser.add_argument("--steps", type=int, help="stop after this many steps in all")
    parser.add_argument("--seed", type=int, help=f"random seed (default {program.seed})")
    parser.add_argument("--device", help=f"cpu, cuda, mps or auto (default {program.device})")
    parser.add_argument("--metrics-out", type=Path, help="write metrics here (JSON lines)")
    parser.add_argument("--resume", type=Path, help="continue from this checkpoint")
    parser.add_argument("--out", type=Path, default=Path("run"),
                        help="folder for checkpoints (default ./run)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also keep a checkpoint every N steps")
    where = "this script's folder" if script_dir is not None else "the current folder"
    parser.add_argument("--data-dir", type=Path, default=script_dir,
                        help=f"where relative data paths start (default: {where})")
    return parser


def print_epoch(event: dict[str, Any]) -> None:
    """One line on stderr per validation: the mean loss (and accuracy) of each loss node."""
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
        with plain_warnings():
            run = train(program, epochs=args.epochs, steps=args.steps, seed=args.seed,
                        device=args.device, data_dir=args.data_dir, out_dir=args.out,
                        metrics_out=args.metrics_out, resume=args.resume,
                        checkpoint_every=args.checkpoint_every, callback=print_epoch,
                        procs=procs)
    except (TrainingFailure, DataSourceError) as e:
        told = report_rank(procs.rank, "failed", {"message": f"{rank}{e}",
                                                  "peer": isinstance(e, PeerLost)})
        if not told:  # else `composer train --nproc` prints the first process's failure
            print(f"error: {rank}{e}", file=sys.stderr)
        return 1
    report_rank(procs.rank, "done", {"status": run.status, "step": run.steps})
    if procs.rank == 0:
        print(f"{run.status} after {run.steps} steps; checkpoint: {run.checkpoint}",
              file=sys.stderr)
    return 0
