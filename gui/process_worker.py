"""Training in another process: `composer train ... --events -`, read line by line.

With the Training panel's Processes above 1, the graph trains under `composer train` (with
`--nproc N`) in a process group of its own. Its events arrive on the child's stdout, one JSON
object a line, and fill the same buffer a TrainingWorker fills: the panel drains and draws them
without knowing which kind of run it watches. Pause and Resume stop and continue the whole
group (SIGSTOP, SIGCONT: every process at once, with nothing for the run to cooperate on).
Stop sends SIGTERM, which the run answers by stopping after its step and writing its
checkpoint; SIGKILL follows when it has not ended within STOP_GRACE_S. However the run ends,
what is left of its group is killed before the leader is reaped: nothing stays behind.
Previews of the watched outputs (`--watch`) come after each epoch as events whose arrays are
decoded here; the list is fixed for the run, and a preview cannot be asked for in between.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from gui.worker import TrainingWorker, confusion_of

STOP_GRACE_S = 10.0  # after Stop, the run's step, validation and checkpoint get this long
POLL_S = 0.1  # how often the watcher looks whether the process has ended
SUBPROCESS_ENV = "COMPOSER_SUBPROCESS"  # "1": one process trains as a subprocess too
LOG_NAME = "log.txt"  # the run's stderr, in its run folder

log = logging.getLogger(__name__)
_live: set[ProcessWorker] = set()  # runs still going when the application exits get SIGTERM


def train_command(graph_file: Path, out: Path, processes: int, data_dir: Path | None = None,
                  **options: Any) -> list[str]:
    """The command line of a run: `composer train FILE [--nproc N] --events - --out DIR`
    and the panel's epochs, steps and device."""
    command = [sys.executable, "-m", "composer", "train", str(graph_file)]
    if processes > 1:
        command += ["--nproc", str(processes)]
    command += ["--events", "-", "--out", str(out)]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    for name in ("epochs", "steps", "device", "tensorboard", "label"):
        if options.get(name) is not None:
            command += [f"--{name}", str(options[name])]
    if options.get("watch"):
        command += ["--watch", ",".join(options["watch"])]
    return command


def subprocess_wanted(processes: int) -> bool:
    return processes > 1 or os.environ.get(SUBPROCESS_ENV) == "1"


def make_worker(graph: Any, processes: int, path: Path | None, saved: bool, run_dir: Path,
                tensorboard: bool = False, **options: Any) -> TrainingWorker | ProcessWorker:
    """The worker for a run of `graph` (a copy of the document's, whose file is `path`,
    `saved` when the file holds it as it is): a thread here, or processes of their own.
    Either records the run in `run_dir` (composer/runs.py). A saved document runs from its
    file; an unsaved one from a copy in the run folder. With `tensorboard`, the run also
    writes TensorBoard logs into `<run folder>/tensorboard`."""
    if tensorboard:
        options["tensorboard"] = str(run_dir / "tensorboard")
    if not subprocess_wanted(processes):
        return TrainingWorker(graph, run_dir, path if saved else None, **options)
    return ProcessWorker(graph, processes, run_dir, path if saved else None, **options)


def _decoded(event: dict) -> dict | None:
    """A preview event with its arrays back as numpy arrays; None when they do not decode."""
    from composer.runtime.previews import decode_outputs

    try:
        return {**event, "outputs": decode_outputs(event.get("outputs", {}))}
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        log.warning("a preview event of the training process could not be read: %s", e)
        return None


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the process has ended, without reaping it: its group id stays its own until
    the group is cleared."""
    if not hasattr(os, "waitid"):
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class ProcessWorker(QObject):
    """Runs one training run as a process group; the interface of gui.worker.TrainingWorker.

    `graph_file` is trained when given (the document's saved file); otherwise the graph is
    written into the run folder and trained from there, its data paths still starting at the
    graph's own folder."""

    run_started = Signal()  # the start event is in the buffer
    run_finished = Signal(object)  # composer's RunResult, the model loaded from the checkpoint
    run_failed = Signal(str, object)  # message, a TrainingError (naming node and step if known)

    def __init__(self, graph: Any, processes: int, run_dir: Path,
                 graph_file: Path | None = None, **options: Any) -> None:
        super().__init__()
        self._graph = graph
        self.run_dir = Path(run_dir)
        self._graph_file = graph_file
        self._processes = processes
        self._options = options
        self._lock = threading.Lock()  # guards the buffer, and signals against the reaping
        self._buffer: list[dict] = []
        self._proc: subprocess.Popen | None = None
        self._reaped = False
        self._paused = False
        self._stopping = False
        self._kill_at: float | None = None
        self._killed = False
        self._events: dict[str, dict] = {}  # the last event of each kind
        self.steps_done = 0
        self.result = None
        self.confusion: tuple[list, str] = ([], "")  # confusion_of the trained model
        self.tensorboard = options.get("tensorboard")  # where its logs go, if anywhere
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._watch, name="training-process",
                                        daemon=True)

    # --- called from the GUI thread ----------------------------------------------------
    def start(self) -> None:
        _live.add(self)
        self._thread.start()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._signal(signal.SIGCONT)

    def ready(self) -> None:
        """The other process does not wait for the plots."""

    def request_preview(self) -> bool:
        """False: the other process previews after each epoch only."""
        return False

    def set_watch(self, refs: list[str]) -> bool:
        """False: the other process watches the list it was started with."""
        return False

    def stop(self) -> None:
        """Asks the run to stop after its step (SIGTERM); SIGKILL after STOP_GRACE_S."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._paused = False
            self._kill_at = time.monotonic() + STOP_GRACE_S
            self._signal(signal.SIGTERM)
            self._signal(signal.SIGCONT)  # a paused run must wake to answer it

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def pid(self) -> int | None:
        """The group's leader (and so the group's id), once started."""
        return self._proc.pid if self._proc is not None else None

    def drain(self) -> list[dict]:
        with self._lock:
            events, self._buffer = self._buffer, []
        return events

    def wait(self, ms: int = 10_000) -> bool:
        if self._thread.ident is not None:
            self._thread.join(ms / 1000)
        return not self._thread.is_alive()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    # --- the process -------------------------------------------------------------------
    def _signal(self, number: int) -> None:
        """To the whole group, while it is ours (the caller holds the lock)."""
        if self._proc is not None and not self._reaped:
            try:
                os.killpg(self._proc.pid, number)
            except (ProcessLookupError, PermissionError):
                pass  # the group has ended already

    def _launch(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        graph_file, data_dir = self._graph_file, None
        if graph_file is None:
            from composer.fileformat import save

            graph_file = self.run_dir / "graph.json"
            save(self._graph, graph_file)
            data_dir = Path(self._graph.base_dir).resolve()
        command = train_command(graph_file, self.run_dir, self._processes, data_dir,
                                **self._options)
        here = str(Path(__file__).resolve().parent.parent)  # the composer this window runs
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [here, *filter(None, [os.environ.get("PYTHONPATH")])])}
        with open(self.run_dir / LOG_NAME, "wb") as log, self._lock:
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=log, env=env,
                                          start_new_session=True, text=True, encoding="utf-8")
            if self._stopping:
                self._signal(signal.SIGTERM)
            elif self._paused:
                self._signal(signal.SIGSTOP)

    def _watch(self) -> None:
        try:
            self._launch()
        except OSError as e:
            self._fail(f"cannot start the training process: {e.strerror or e}")
            _live.discard(self)
            return
        reader = threading.Thread(target=self._read, name="training-events", daemon=True)
        reader.start()
        while not _exited(self._proc):
            if self._kill_at is not None and time.monotonic() > self._kill_at:
                with self._lock:
                    self._signal(signal.SIGKILL)
                self._killed, self._kill_at = True, None
            time.sleep(POLL_S)
        with self._lock:
            self._signal(signal.SIGKILL)  # what is left of the group goes with its leader
            self._reaped = True
        code = self._proc.wait()
        reader.join(5.0)
        _live.discard(self)
        self._report(code)

    def _read(self) -> None:
        for line in self._proc.stdout:
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("kind")
            if kind == "preview":
                event = _decoded(event)
                if event is None:
                    continue
            self._events[kind] = event
            if kind == "step":
                self.steps_done = event["step"] + 1
            with self._lock:
                self._buffer.append(event)
            if kind == "start":
                self.run_started.emit()

    # --- the end -----------------------------------------------------------------------
    def _report(self, code: int) -> None:
        from composer.errors import ComposerError, TrainingError

        end, error = self._events.get("end"), self._events.get("error")
        if code == 0 and end is not None:
            try:
                self.result = self._result(end)
            except (ComposerError, OSError) as e:
                self._fail(f"the run ended, but its checkpoint could not be loaded: {e}")
            else:
                self.confusion = confusion_of(self._graph, self.result.model)
                self.run_finished.emit(self.result)
        elif error is not None:
            self.error = TrainingError(error["message"], error.get("node"), error.get("group"),
                                       error.get("step"))
            self.run_failed.emit(error["message"], self.error)
        else:
            from composer.runs import close_record

            text = self._exit_text(code)
            close_record(self.run_dir, "failed", text)  # the process could not write it
            self._fail(text)

    def _result(self, end: dict) -> Any:
        import composer
        from composer.state_dicts import load_weights, read_weights
        from composer.train import RunResult

        checkpoint = self.run_dir / "checkpoint.pt"
        model = load_weights(composer.compile(self._graph, pretrained=False),
                             read_weights(checkpoint), checkpoint.name)
        epoch = self._events.get("epoch", {})
        return RunResult(model, [], epoch.get("val", {}), epoch.get("accuracy", {}), checkpoint,
                         end["step"], end["status"])

    def _exit_text(self, code: int) -> str:
        steps = f"after {self.steps_done} step{'s' * (self.steps_done != 1)}"
        if self._killed:
            text = f"the run did not stop within {STOP_GRACE_S:g} s and was killed {steps}"
        elif code < 0:
            text = f"the training process was ended by {signal.Signals(-code).name} {steps}"
        elif code == 0:
            text = f"the training process ended {steps} without reporting its end"
        else:
            text = f"the training process exited with status {code} {steps}"
        last = self._last_log_line()
        return f"{text}: {last}" if last else text

    def _last_log_line(self) -> str:
        """The run's last line about an error (its progress lines would only mislead)."""
        try:
            lines = (self.run_dir / LOG_NAME).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(lines) if "error" in line.lower()), "")

    def _fail(self, message: str) -> None:
        from composer.errors import TrainingError

        self.error = TrainingError(message)
        self.run_failed.emit(message, self.error)


@atexit.register
def _stop_live_runs() -> None:
    """Runs still going when the application exits stop after their step, as on Stop."""
    for worker in list(_live):
        worker.stop()
