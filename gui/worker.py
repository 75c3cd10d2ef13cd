"""Training on a worker thread, reported to the GUI thread in batches.

The worker runs `composer.train` with a plain callback. Every event the run sends (start,
step, epoch, end) goes into a buffer in order; the GUI drains it on a timer, so the window
redraws at its own steady rate however fast the steps come (a redraw per step would freeze it
on fast graphs). Only the run's start (so the GUI drains at once and builds its plots while
the first step waits) and its end cross threads as queued Qt signals. Widgets are never
touched from the worker.

Previews: the run computes the outputs in `watch` (a list the GUI may change meanwhile) after
each epoch; `request_preview()` asks for them at the next step boundary, or at once while the
run is paused.
"""

from __future__ import annotations

import gc
import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

READY_TIMEOUT_S = 2.0  # the longest the first step waits for the GUI's plots
FULLER_EVERY = 10  # every 10th collection on the GUI thread looks at older objects too
PAUSE_POLL_S = 0.1  # a paused run looks this often whether a preview was asked for


class GuiCollector:
    """Keeps Python's garbage collection on the GUI thread while a worker runs.

    The collector runs in whichever thread happens to allocate, and what it frees may be Qt
    objects in reference cycles (a closed window, plots just replaced): deleted on a worker
    thread they corrupt the GUI's state and crash it later. So during a run the automatic
    collector is off, and the GUI thread collects instead from its redraw timer (`tick`).
    """

    def __init__(self) -> None:
        self._was_enabled: bool | None = None
        self._ticks = 0

    def begin(self) -> None:
        gc.collect()  # what is garbage already goes now, here
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
        gc.disable()

    def tick(self) -> None:
        if self._was_enabled is not None:
            self._ticks += 1
            gc.collect(1 if self._ticks % FULLER_EVERY == 0 else 0)

    def end(self) -> None:
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None


def confusion_of(graph: Any, model: Any) -> tuple[list, str]:
    """(the trained model's confusion matrices, "") or ([], why there are none): computed
    where the run ends, off the GUI thread; a failure here does not fail the run."""
    from composer.confusion import confusion_matrices
    from composer.errors import ComposerError

    try:
        return confusion_matrices(graph, model), ""
    except ComposerError as e:  # a data or forward failure, naming its node
        return [], str(e)
    except Exception as e:  # shown on the Results page in place of the matrices
        return [], f"{type(e).__name__}: {e}"


class TrainingWorker(QObject):
    """Runs one training run. Create, `start()`, then `pause()`, `resume()`, `stop()`;
    `drain()` the events from the GUI thread."""

    run_started = Signal()  # the start event is in the buffer: the GUI may set up its plots
    run_finished = Signal(object)  # composer's RunResult
    run_failed = Signal(str, object)  # message, the exception (TrainingError names node, step)

    def __init__(self, graph: Any, run_dir: Any = None, graph_file: Any = None,
                 **train_options: Any) -> None:
        super().__init__()
        self._graph = graph  # a copy: the document's graph stays the user's to edit afterwards
        self.run_dir = run_dir  # the run's folder (composer/runs.py), when it is recorded
        self._graph_file = graph_file  # the saved file the graph came from, if any
        self._options = train_options
        self._lock = threading.Lock()
        self._buffer: list[dict] = []
        self._running = threading.Event()
        self._running.set()
        self._stop = False
        self._ready = threading.Event()
        self._preview = threading.Event()  # the GUI asked for a preview now
        self.steps_done = 0
        self.result = None  # the RunResult once finished
        self.confusion: tuple[list, str] = ([], "")  # confusion_of the trained model
        self.tensorboard = train_options.get("tensorboard")  # where its logs go, if anywhere
        self.error: BaseException | None = None
        self._thread = QThread()
        self._thread.setObjectName("training")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    # --- called from the GUI thread ----------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        """Holds the run after its current step until `resume()` or `stop()`."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def ready(self) -> None:
        """The GUI has taken the start event and built its plots: the first step may go."""
        self._ready.set()

    def request_preview(self) -> bool:
        """The watched outputs at the next step boundary (or now, while paused); True, as
        this run can."""
        self._preview.set()
        return True

    def set_watch(self, refs: list[str]) -> bool:
        """Previews from now on show these outputs; True when this run was started watching
        (with a list, which it reads at each preview)."""
        watch = self._options.get("watch")
        if watch is None:
            return False
        watch[:] = refs
        return True

    def stop(self) -> None:
        """Stops after the current step; the weights trained so far are kept."""
        self._stop = True
        self._running.set()
        self._ready.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def drain(self) -> list[dict]:
        """The events since the last drain, oldest first."""
        with self._lock:
            events, self._buffer = self._buffer, []
        return events

    def wait(self, ms: int = 10_000) -> bool:
        """Waits for the thread to end; True when it has."""
        return self._thread.wait(ms)

    def is_running(self) -> bool:
        return self._thread.isRunning()

    # --- on the worker thread ----------------------------------------------------------
    def _callback(self, event: dict) -> str | None:
        with self._lock:
            self._buffer.append(event)
        if event["kind"] == "step":
            self.steps_done = event["step"] + 1
        elif event["kind"] == "start":
            # The GUI builds its plots now; steps racing it for the interpreter lock would
            # only slow both. It answers within a redraw; the timeout guards against a GUI
            # that never does.
            self.run_started.emit()
            self._ready.wait(READY_TIMEOUT_S)
        while not self._running.wait(PAUSE_POLL_S):  # paused: held here, but for a preview
            if self._preview.is_set() and event["kind"] == "step":
                break
        if self._stop:
            return "stop"
        if self._preview.is_set() and event["kind"] == "step":
            self._preview.clear()
            return "preview"
        return None

    def _run(self) -> None:
        import composer

        try:
            if self.run_dir is None:
                result = composer.train(self._graph, callback=self._callback, **self._options)
            else:
                from composer.runs import train_run

                result = train_run(self._graph, self.run_dir, graph_file=self._graph_file,
                                   callback=self._callback, **self._options)
        except Exception as e:  # reported in the window, never raised into Qt
            self.error = e
            message = str(e) or type(e).__name__
            if not isinstance(e, composer.ComposerError):
                message = f"{type(e).__name__}: {message}\n{traceback.format_exc(limit=3)}"
            self.run_failed.emit(message, e)
        else:
            self.result = result
            self.confusion = confusion_of(self._graph, result.model)
            self.run_finished.emit(result)
        finally:
            self._thread.quit()


class BackgroundTask(QObject):
    """Runs one function off the GUI thread (an evaluation, a compile) and reports its
    result or its failure as a queued signal."""

    done = Signal(object)
    failed = Signal(str, object)

    def __init__(self, fn: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="task", daemon=True)
        self._thread.start()

    def wait(self, seconds: float = 30.0) -> bool:
        if self._thread is not None:
            self._thread.join(seconds)
        return self._thread is None or not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as e:  # reported in the window
            self.failed.emit(str(e) or type(e).__name__, e)
        else:
            self.done.emit(result)
