"""Training on a worker thread, reported to the GUI thread in batches.

The worker runs `composer.train` with a plain callback. Step events go into a buffer that the
GUI drains on a timer (a redraw per step would freeze the window on fast graphs); the rare
events (start, epoch, end) and failures cross threads as queued Qt signals. Widgets are never
touched from the worker.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal


class TrainingWorker(QObject):
    """Runs one training run. Create, `start()`, then `pause()`, `resume()`, `stop()`."""

    run_started = Signal(dict)
    epoch_done = Signal(dict)
    run_finished = Signal(object)  # composer's RunResult
    run_failed = Signal(str, object)  # message, the exception (TrainingError carries node/step)

    def __init__(self, graph: Any, **train_options: Any) -> None:
        super().__init__()
        self._graph = graph  # a copy: the document's graph stays the user's to edit afterwards
        self._options = train_options
        self._lock = threading.Lock()
        self._buffer: list[dict] = []
        self._running = threading.Event()
        self._running.set()
        self._stop = False
        self.steps_done = 0
        self._thread = QThread()
        self._thread.setObjectName("training")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    # --- called from the GUI thread ----------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Stops after the current step; the weights trained so far are kept."""
        self._stop = True
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def drain(self) -> list[dict]:
        """The step events since the last drain, oldest first."""
        with self._lock:
            events, self._buffer = self._buffer, []
        return events

    def wait(self, ms: int = 10_000) -> bool:
        return self._thread.wait(ms)

    def is_running(self) -> bool:
        return self._thread.isRunning()

    # --- on the worker thread ----------------------------------------------------------
    def _callback(self, event: dict) -> str | None:
        kind = event.get("kind")
        if kind == "step":
            with self._lock:
                self._buffer.append(event)
            self.steps_done = event["step"] + 1
        elif kind == "start":
            self.run_started.emit(event)
        elif kind == "epoch":
            self.epoch_done.emit(event)
        self._running.wait()  # blocks while paused
        return "stop" if self._stop else None

    def _run(self) -> None:
        try:
            import composer

            result = composer.train(self._graph, callback=self._callback, **self._options)
        except Exception as e:  # reported in the window, never raised into Qt
            message = str(e) or type(e).__name__
            if not isinstance(e, composer.ComposerError):
                message = f"{type(e).__name__}: {message}\n{traceback.format_exc(limit=3)}"
            self.run_failed.emit(message, e)
        else:
            self.run_finished.emit(result)
        finally:
            self._thread.quit()
