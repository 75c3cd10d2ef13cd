"""Training a sweep's variants: one after another in this process, or K at a time, each in a
`composer train` process of its own. Each variant becomes an ordinary run of the graph
(composer/runs.py) labelled with its value (`lr=0.0002`); the sweep's record
(composer/sweep_record.py) says which run trained which value, and is rewritten as runs start
and end, so a sweep cut short still reads.

A failed run does not stop the others: it is recorded as failed and the sweep ends `failed`.
A stop (Ctrl+C, the window's Stop) ends the runs going after their step and starts no more.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from composer.errors import ComposerError
from composer.fileformat import save
from composer.runs import (
    GRAPH_FILE,
    RECORD_FILE,
    Run,
    RunRecorder,
    close_record,
    load_run,
    new_run_folder,
    train_run,
)
from composer.sweep import Sweep, SweepError
from composer.sweep_record import Row, SweepRecord, new_sweep_file, rows_of, write_record

OPTIONS = ("steps", "epochs", "device")  # what a sweep passes on to each run
LOG_NAME = "log.txt"  # a process's output, in its run folder
STOP_GRACE_S = 10.0  # after a stop, a run's step, validation and checkpoint get this long
POLL_S = 0.1


def threads_per_run(parallel: int) -> int:
    """Each process takes as many threads as cores by default; K at once share them."""
    return max(1, (os.cpu_count() or 1) // max(1, parallel))


class SweepBook:
    """A sweep's record on disk: created at the start, updated as each run starts and ends."""

    def __init__(self, sweep: Sweep, root: str | Path, *, graph_file: str | Path | None = None,
                 options: dict[str, Any] | None = None, parallel: int = 1,
                 sort: str | None = None) -> None:
        self.sweep = sweep
        self.root = Path(root)
        self.options = {k: v for k, v in (options or {}).items() if v is not None}
        target = sweep.target
        if target.kind == "training" and target.name in self.options:
            raise SweepError(f"--{target.name} replaces training: {target.name}, the setting "
                             "this sweep varies; leave it out")
        self.path = new_sweep_file(self.root)
        self.record = SweepRecord(
            id=self.path.stem, started=datetime.now().astimezone().isoformat("T", "seconds"),
            target=target.text, values=sweep.values,
            labels=[v.label for v in sweep.variants], runs=[None] * len(sweep.variants),
            graph_file=str(Path(graph_file).resolve()) if graph_file else None,
            options=self.options, parallel=parallel, sort=sort)
        self.write()

    def write(self) -> None:
        write_record(self.path, self.record)

    def start(self, index: int) -> Path:
        """A new run folder for variant `index`, noted in the record."""
        folder = new_run_folder(self.root)
        self.record.runs[index] = folder.name
        self.write()
        return folder

    def rows(self) -> list[Row]:
        return rows_of(self.record, self.root)

    def finish(self, stopped: bool = False) -> str:
        """The sweep's status, written: stopped, failed (a run did not finish) or finished."""
        statuses = [r.status for r in self.rows()]
        if stopped or "stopped" in statuses:
            status = "stopped"
        elif all(s == "finished" for s in statuses):
            status = "finished"
        else:
            status = "failed"
        self.record.status = status
        self.write()
        return status


Listener = Callable[[int, Run | None], None]  # (variant index, its run or None)


def run_here(book: SweepBook, *, stop: Callable[[], bool] = lambda: False,
             callback: Callable[[dict], Any] | None = None, on_start: Listener | None = None,
             on_end: Listener | None = None) -> str:
    """Trains the variants one after another in this process; returns the sweep's status.
    `callback` gets every run's training events (a progress display); `stop()` true ends the
    run going after its step and starts no more."""
    def each_step(event: dict) -> str | None:
        answer = callback(event) if callback is not None else None
        return "stop" if stop() or answer == "stop" else None

    stopped = False
    for index, variant in enumerate(book.sweep.variants):
        if stop():
            stopped = True
            break
        folder = book.start(index)
        if on_start is not None:
            on_start(index, None)
        try:
            train_run(variant.graph, folder, label=variant.label, callback=each_step,
                      **book.options)
        except Exception:  # noqa: BLE001 - recorded in the run's folder; the others go on
            pass
        if on_end is not None:
            on_end(index, _run(folder))
    return book.finish(stopped or stop())


def run_processes(book: SweepBook, parallel: int, *, stop: Callable[[], bool] = lambda: False,
                  on_start: Listener | None = None, on_end: Listener | None = None) -> str:
    """Trains the variants `parallel` at a time, each as `composer train` in a process group
    of its own; returns the sweep's status."""
    waiting = list(range(len(book.sweep.variants)))
    going: dict[int, tuple[subprocess.Popen, Path]] = {}
    kill_at: float | None = None
    while waiting or going:
        if stop() and kill_at is None:
            waiting.clear()
            kill_at = time.monotonic() + STOP_GRACE_S
            for proc, _ in going.values():
                _signal(proc, signal.SIGTERM)
        while waiting and len(going) < parallel:
            index = waiting.pop(0)
            folder = book.start(index)
            going[index] = (_launch(book, index, folder, parallel), folder)
            if on_start is not None:
                on_start(index, None)
        if kill_at is not None and time.monotonic() > kill_at:
            for proc, _ in going.values():
                _signal(proc, signal.SIGKILL)
        for index, (proc, folder) in list(going.items()):
            if proc.poll() is None:
                continue
            del going[index]
            _signal(proc, signal.SIGKILL)  # anything the run left in its group
            _ended(book, index, folder, proc.returncode, stopping=kill_at is not None)
            if on_end is not None:
                on_end(index, _run(folder))
        time.sleep(POLL_S)
    return book.finish(kill_at is not None)


def run_sweep(book: SweepBook, parallel: int = 1, **kwargs: Any) -> str:
    """In this process when `parallel` is 1, else in processes; see run_here, run_processes."""
    if parallel <= 1:
        return run_here(book, **kwargs)
    kwargs.pop("callback", None)
    return run_processes(book, parallel, **kwargs)


def train_command(folder: Path, label: str, data_dir: Path, options: dict[str, Any]) -> list[str]:
    """`composer train RUN/graph.json --out RUN --label L --data-dir D [--steps N] ...`"""
    command = [sys.executable, "-m", "composer", "train", str(folder / GRAPH_FILE), "--out",
               str(folder), "--label", label, "--data-dir", str(data_dir)]
    for name in OPTIONS:
        if options.get(name) is not None:
            command += [f"--{name}", str(options[name])]
    return command


def _launch(book: SweepBook, index: int, folder: Path, parallel: int) -> subprocess.Popen:
    variant = book.sweep.variants[index]
    save(variant.graph, folder / GRAPH_FILE)
    data_dir = Path(variant.graph.base_dir).resolve()
    here = str(Path(__file__).resolve().parent.parent)  # this composer, in the child too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [here, *filter(None, [os.environ.get("PYTHONPATH")])])}
    threads = str(threads_per_run(parallel))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, threads)
    with open(folder / LOG_NAME, "wb") as log:
        return subprocess.Popen(train_command(folder, variant.label, data_dir, book.options),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)


def _ended(book: SweepBook, index: int, folder: Path, code: int, stopping: bool) -> None:
    """Closes the record of a process that ended without closing it (killed, crashed). One
    stopped before it began its run leaves no run: its value is not run."""
    text = _exit_text(code, folder)
    if (folder / RECORD_FILE).is_file():
        close_record(folder, "stopped" if stopping else "failed", text)
    elif stopping:
        shutil.rmtree(folder, ignore_errors=True)
        book.record.runs[index] = None
        book.write()
    else:
        variant = book.sweep.variants[index]
        RunRecorder(folder, variant.graph, label=variant.label, options=book.options) \
            .finish("failed", error=ComposerError(text))


def _signal(proc: subprocess.Popen, number: int) -> None:
    try:
        os.killpg(proc.pid, number)
    except (ProcessLookupError, PermissionError):
        pass  # ended already


def _exit_text(code: int, folder: Path) -> str:
    """Why a process ended without its record saying so: its last error line."""
    try:
        lines = (folder / LOG_NAME).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    last = next((line.strip() for line in reversed(lines) if "error" in line.lower()), "")
    how = f"ended by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
    return f"the training process {how}" + (f": {last}" if last else "")


def _run(folder: Path) -> Run | None:
    try:
        return load_run(folder)
    except ComposerError:
        return None
