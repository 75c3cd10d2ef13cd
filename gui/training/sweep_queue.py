"""A sweep in the window: its variants trained one at a time through the Training panel (its
worker, its live curves), or K at a time in `composer train` processes (composer's own
runner, on a thread), recorded as `composer sweep` records them. The open graph is never
changed: each run trains a copy with its value (composer/sweep.py).

`changed` is emitted whenever a run starts or ends, `finished` with the sweep's status.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from composer.sweep import Sweep
from composer.sweep_record import Row
from composer.sweep_runner import SweepBook, run_processes


class SweepQueue(QObject):
    changed = Signal()
    finished = Signal(str)  # "finished", "failed" or "stopped"
    _ended_elsewhere = Signal()  # from the runner's thread: a run started or ended

    def __init__(self, panel: Any, sweep: Sweep, *, graph_file: Path | None = None,
                 steps: int | None = None, parallel: int = 1) -> None:
        super().__init__(panel)
        self.panel = panel
        self.parallel = parallel
        self.book = SweepBook(sweep, panel.runs_view.writable_root(), graph_file=graph_file,
                              options={"steps": steps}, parallel=parallel)
        self.status = "running"
        self._next = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outcome: str | None = None  # the status the runner's thread ended with
        self._error = ""
        self._ended_elsewhere.connect(self._process_run_changed)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def rows(self) -> list[Row]:
        return self.book.rows()

    # --- control -------------------------------------------------------------------------
    def start(self) -> None:
        if self.parallel > 1:
            self._thread = threading.Thread(target=self._run_processes, name="sweep",
                                            daemon=True)
            self._thread.start()
        else:
            self.panel.run_ended.connect(self._panel_run_ended)
            self._start_next()

    def stop(self) -> None:
        """Starts no more runs; the one going (each going, in processes) stops after its
        step."""
        self._stop.set()
        if self.parallel <= 1 and self.panel.sweep_run:
            self.panel.stop()

    def wait(self, seconds: float = 30.0) -> None:
        """Stops and waits for the processes (the window is closing)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(seconds)
        elif self.running:  # the panel's run ends as the window closes: no next turn comes
            self.status = self.book.finish(True)

    # --- one at a time, through the panel --------------------------------------------------
    def _start_next(self) -> None:
        variants = self.book.sweep.variants
        if self._stop.is_set() or self._next >= len(variants):
            self._end()
            return
        index, variant = self._next, variants[self._next]
        self._next += 1
        folder = self.book.start(index)
        steps = self.book.options.get("steps", 0)  # 0: every epoch, whatever the panel says
        if not self.panel.start(steps, graph=variant.graph, label=variant.label, run_dir=folder):
            self._stop.set()  # the panel said why
            self._end()
            return
        self.changed.emit()

    def _panel_run_ended(self, _folder: Path) -> None:
        self.changed.emit()
        if self.panel.error is None and self.panel.last_status == "stopped":
            self._stop.set()  # the panel's Stop stops the sweep too
        QTimer.singleShot(0, self._start_next)  # once the panel has settled

    def _end(self) -> None:
        if self.parallel <= 1:
            self.panel.run_ended.disconnect(self._panel_run_ended)
        self.status = self.book.finish(self._stop.is_set())
        self.changed.emit()
        self.finished.emit(self.status)

    # --- K at a time, in processes ---------------------------------------------------------
    def _run_processes(self) -> None:
        def changed(*_: Any) -> None:
            self._ended_elsewhere.emit()

        try:
            self._outcome = run_processes(self.book, self.parallel, stop=self._stop.is_set,
                                          on_start=changed, on_end=changed)
        except OSError as e:  # a process could not start: the sweep ends there
            self._error = f"cannot start a training process: {e.strerror or e}"
            self._outcome = self.book.finish(True)
        self._ended_elsewhere.emit()

    def _process_run_changed(self) -> None:
        """On the GUI thread: the list and the table read the folders again; the sweep's
        end is told once its thread has said it."""
        self.panel.runs_view.refresh()
        ended = self._outcome is not None and self.status == "running"
        if ended:
            self.status = self._outcome
            if self._error:
                self.panel.document.message.emit(f"Sweep stopped: {self._error}")
        self.changed.emit()
        if ended:
            self.finished.emit(self.status)
