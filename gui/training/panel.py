"""The training panel: start, pause, resume and stop a run; its progress, curves and results.

A run trains a copy of the graph on the worker thread (gui.worker), or with Processes above 1
in processes of its own (gui.process_worker), while the document is read-only; both workers
deliver the same events, so what follows does not depend on which one runs. The events are
drained on a timer and drawn at a steady rate, never once per step. A failure stops the run
with a message naming the node and step; the window, the graph and the curves so far stay.
After a run the trained weights can be saved, weights loaded back (refused when they do not
fit), and the model evaluated on the validation split. A sweep (gui.training.sweep_dialog)
queues its runs here, one at a time, each a copy of the graph with its value. Beside the
tabs, previews show what the watched outputs produce (gui.training.previews, driven from
gui.training.preview_runs).
"""

from __future__ import annotations

import os
import time
from collections import deque
from functools import partial
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.networks import SEPARATOR
from composer.runs import RunError
from composer.train import TENSORBOARD_EXTRA, has_tensorboard
from gui import theme
from gui.diagnostics import place
from gui.param_widgets import DeviceBox
from gui.process_worker import make_worker
from gui.training.actions import make_action
from gui.training.preview_runs import PreviewRuns
from gui.training.results_page import ResultsPage
from gui.training.runs_view import RunsView
from gui.worker import GuiCollector

# Curves redraw three times a second, however fast the steps come: each redraw runs Python
# (pyqtgraph) on the GUI thread, which holds the interpreter lock the training thread needs,
# so a faster rate would cost training speed for motion no one can read.
REDRAW_MS = 330
RATE_WINDOW_S = 5.0  # the speed (and so the ETA) is measured over the last seconds
PROCESSES_KEY = "training/processes"  # in the application's settings: a fact of the machine
TENSORBOARD_KEY = "training/tensorboard"  # likewise: whether runs write TensorBoard logs
TENSORBOARD_MISSING = f"TensorBoard needs {TENSORBOARD_EXTRA}"


class TrainingPanel(QWidget):
    """Controls and views of training. `start()`, `toggle_pause()`, `stop()`; `state`."""

    state_changed = Signal(str)  # "idle", "running", "paused", "stopping", "evaluating"
    run_ended = Signal(object)  # a run's folder, once it has finished, stopped or failed

    def __init__(self, document: Any, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.document = document
        self.settings = settings
        self.worker: Any = None  # a TrainingWorker, or a ProcessWorker
        self.history = None  # RunHistory of the latest run
        self.curves = None  # CurvesView, built when the first run starts
        self.run_graph = None  # the copy of the graph the latest run trains
        self.error: BaseException | None = None  # what stopped the latest run
        self.last_status: str | None = None  # how the latest run ended
        self.sweep_run = False  # the run going is one of a sweep's: its failure needs no box
        self.sweep_dialog = None  # built when first asked for
        self.selection = lambda: ([], None)  # the canvas's selected nodes and their network
        self.failure_box: QMessageBox | None = None
        self.state = "idle"
        self._rate: deque[tuple[float, int]] = deque()
        self._collector = GuiCollector()  # garbage is collected here, not on the worker
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(lambda: self.drain())
        self.results = ResultsPage(document)
        self.results.message.connect(self._show_message)
        self.results.busy_changed.connect(self._evaluating)
        self.runs_view = RunsView(document)
        self.runs_view.message.connect(self._show_message)
        self.runs_view.overlay_changed.connect(self._draw_overlay)
        # Ticking Overlay shows what it does: the curves, with the runs behind them.
        self.runs_view.overlay.toggled.connect(
            lambda on: on and self.tabs.setCurrentWidget(self.curves_area))
        self.overlay = None  # a RunOverlay once past runs are drawn
        self.actions = self._build_actions() | self.results.actions
        self.preview_runs = PreviewRuns(self)
        self.previews = self.preview_runs.view
        self._build_ui()
        self._subscribed = None  # the graph whose settings the epochs and device follow
        document.graph_replaced.connect(self._graph_replaced)
        self._graph_replaced()

    # --- building ------------------------------------------------------------------------
    def _build_actions(self) -> dict[str, QAction]:
        a = partial(make_action, self)
        return {
            "start": a("train_start", "&Start Training", self.start, "F9",
                       "train a copy of the graph on a worker thread"),
            "pause": a("train_pause", "&Pause", self.toggle_pause, "F10",
                       "hold the run after its current step, or continue it"),
            "stop": a("train_stop", "S&top", self.stop, "Shift+F9",
                      "end the run after its current step, keeping the trained weights"),
            "sweep": a("train_sweep", "S&weep\u2026", self.open_sweep, "",
                       "train the graph once per value of one setting, and compare the runs"),
        }

    def _build_ui(self) -> None:
        self.epochs = QSpinBox(minimum=1, maximum=1_000_000,
                               toolTip="the graph's epochs: saved with it, and what "
                               "`composer train` runs")
        self.epochs.valueChanged.connect(lambda v: self._set_training(epochs=v))
        self.steps = QSpinBox(minimum=0, maximum=100_000_000, singleStep=100,
                              toolTip="stop after this many steps in all (all: every epoch)")
        self.steps.setSpecialValueText("all")
        self.device = DeviceBox()
        self.device.setToolTip("the graph's device: auto is CUDA when available")
        self.device.currentTextChanged.connect(lambda d: self._set_training(device=d))
        self.processes = QSpinBox(objectName="training_processes", minimum=1,
                                  maximum=max(os.cpu_count() or 1, 1),
                                  toolTip="Processes: 1 trains inside the window; more "
                                  "run `composer train --nproc N`, each with its share of every "
                                  "batch (a setting of this computer, not of the graph)")
        self.processes.setAccessibleName("Processes")
        self.processes.setEnabled(os.name == "posix")  # pause and stop signal process groups
        if self.settings is not None:
            self.processes.setValue(int(self.settings.value(PROCESSES_KEY, 1)))
        self.processes.valueChanged.connect(self._set_processes)
        self.tensorboard = QCheckBox("TensorBoard", objectName="training_tensorboard",
                                     toolTip="also write each run's curves for TensorBoard, "
                                     "into the run's folder, <run>/tensorboard (a "
                                     "setting of this computer, not of the graph)")
        if self.settings is not None:
            self.tensorboard.setChecked(self.settings.value(TENSORBOARD_KEY, False, type=bool))
        self.tensorboard.toggled.connect(self._set_tensorboard)
        self.progress = QProgressBar(objectName="training_progress", textVisible=True)
        self.progress.setFormat("no run yet")
        self.progress.setValue(0)
        self.progress.setMinimumWidth(170)  # room for 'step 3,000 / 20,000 · epoch 12'
        self.eta = QLabel(objectName="training_eta")
        self.log_scale = QCheckBox("log scale", toolTip="losses on a logarithmic axis: losses "
                                   "of very different sizes stay readable side by side")
        self.log_scale.setChecked(True)
        self.log_scale.toggled.connect(self._set_log)
        self.message = QLabel(objectName="training_message", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.tabs = QTabWidget(documentMode=True)
        self.placeholder = QLabel("Start a run (F9) to see its curves here.",
                                  alignment=Qt.AlignmentFlag.AlignCenter)
        self.curves_area = QStackedWidget()  # the placeholder, then the curves
        self.curves_area.addWidget(self.placeholder)
        # The runs have a tab of their own: beside the previews, the curves need the width.
        self.tabs.addTab(self.curves_area, "Curves")
        self.tabs.addTab(self.runs_view, "Runs")
        self.tabs.addTab(self.results, "Results")
        self.tabs.setCornerWidget(self._corner(), Qt.Corner.TopRightCorner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(self._controls_row())
        layout.addWidget(self.message)
        beside = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        beside.addWidget(self.tabs)
        beside.addWidget(self.previews)  # hidden while nothing is watched
        beside.setStretchFactor(0, 1)
        layout.addWidget(beside, 1)

    def _controls_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for name in ("start", "pause", "stop"):
            button = QToolButton(objectName=f"button_{name}")
            button.setDefaultAction(self.actions[name])
            row.addWidget(button)
        for text, widget in (("Epochs", self.epochs), ("Steps", self.steps),
                             ("Device", self.device)):
            row.addSpacing(8)
            row.addWidget(QLabel(text))
            row.addWidget(widget)
        # "cpu × 2": the device times the processes on it, in the room of a narrow window.
        row.addWidget(QLabel("\u00d7", toolTip=self.processes.toolTip()))
        row.addWidget(self.processes)
        row.addSpacing(8)
        row.addWidget(self.progress, 1)
        row.addWidget(self.eta)
        return row

    def _corner(self) -> QWidget:
        """What is about the curves and the runs, beside their tabs: so the controls row
        keeps the window narrow enough for a 1280 px screen."""
        corner = QWidget()
        row = QHBoxLayout(corner)
        row.setContentsMargins(0, 0, 4, 0)
        sweep = QToolButton(objectName="button_sweep", autoRaise=True)
        sweep.setDefaultAction(self.actions["sweep"])
        for widget in (self.log_scale, self.tensorboard, sweep):
            row.addWidget(widget)
        return corner

    # --- state ---------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        idle = state == "idle"
        a = self.actions
        a["start"].setEnabled(idle)
        a["pause"].setEnabled(state in ("running", "paused"))
        a["pause"].setText("&Resume" if state == "paused" else "&Pause")
        a["stop"].setEnabled(state in ("running", "paused"))
        self.results.set_idle(state in ("idle", "evaluating"))
        self.runs_view.set_idle(idle)
        for widget in (self.epochs, self.steps, self.device, self.tensorboard):
            widget.setEnabled(idle)
        self.processes.setEnabled(idle and os.name == "posix")
        self.state_changed.emit(state)

    def _graph_replaced(self) -> None:
        """Another graph: the settings follow it, and the old run's model no longer fits."""
        if self._subscribed is not None:
            self._subscribed.events.unsub(self._on_graph_event)
        self._subscribed = self.document.graph
        self._subscribed.events.sub(self._on_graph_event)
        if self.state in ("running", "paused"):
            self.stop()  # the graph it trains is no longer open
        self.preview_runs.graph_replaced()
        if self.state != "idle":
            return
        self._show_training()
        self.results.clear()
        self._show_message("")
        self._set_state("idle")

    def _on_graph_event(self, name: str, **_: Any) -> None:
        if name == "graph_changed":  # an edit in the inspector, or an undo
            self._show_training()
        elif name == "ui_changed":  # an output watched or no longer
            self.preview_runs.watch_changed()

    def _show_training(self) -> None:
        """The graph's epochs and device in the boxes, without writing them back."""
        training = self.document.graph.training
        for box in (self.epochs, self.device):
            box.blockSignals(True)
        self.epochs.setValue(training.epochs if isinstance(training.epochs, int) else 1)
        self.device.set_device(str(training.device or "auto"))
        for box in (self.epochs, self.device):
            box.blockSignals(False)

    def _set_training(self, **fields: Any) -> None:
        """Epochs and device are the graph's own settings: one undoable edit, saved."""
        try:
            self.document.set_meta(**fields)
        except ValueError as e:
            self._show_message(str(e), error=True)
            self._show_training()

    def _set_processes(self, value: int) -> None:
        if self.settings is not None:
            self.settings.setValue(PROCESSES_KEY, value)

    def _set_tensorboard(self, on: bool) -> None:
        if on and not has_tensorboard():
            self._show_message(TENSORBOARD_MISSING, error=True)
        elif self.message.text() == TENSORBOARD_MISSING:
            self._show_message("")
        if self.settings is not None:
            self.settings.setValue(TENSORBOARD_KEY, on)

    def _evaluating(self, busy: bool) -> None:
        self._set_state("evaluating" if busy else "idle")
        if not busy:
            self.tabs.setCurrentWidget(self.results)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setVisible(bool(text))
        self.message.setText(text)
        color = theme.ERROR_COLOR.name() if error else "palette(window-text)"
        self.message.setStyleSheet(f"color: {color};")

    def _set_log(self, on: bool) -> None:
        if self.curves is not None:
            self.curves.set_log(on)

    # --- running -------------------------------------------------------------------------
    def start(self, steps: int | None = None, *, graph: Any = None, label: str = "",
              run_dir: Any = None) -> bool:
        """Starts a run of the graph as it is now (`steps` overrides the Steps box); or, for
        a sweep, of `graph` (a checked variant, whose settings hold its epochs and device),
        labelled, in `run_dir`."""
        variant = graph is not None
        if self.state != "idle" or (not variant and self._refused()):
            return False
        board = self.tensorboard.isChecked()
        if board and not has_tensorboard():
            self._show_message(TENSORBOARD_MISSING, error=True)
            return False
        options: dict[str, Any] = {"label": label} if label else {}
        if not variant:
            try:
                graph = self.document.graph.copy()
            except ValueError as e:
                self._show_message(f"Cannot train this graph: {e}", error=True)
                return False
            options |= {"epochs": self.epochs.value(), "device": self.device.currentText()}
        steps = steps if steps is not None else (self.steps.value() or None)
        if steps:
            options["steps"] = steps
        self.error = None
        self.history = None
        self._rate.clear()
        try:
            run_dir = run_dir or self.runs_view.new_folder()
        except RunError as e:  # a graph beside which nothing can be written
            self._show_message(f"Cannot start training: {e}", error=True)
            return False
        self.run_graph = graph
        self.sweep_run = variant
        options["watch"] = self.preview_runs.run_started(graph)
        self._ensure_curves()
        self.worker = make_worker(graph, self.processes.value(),
                                  None if variant else self.document.path,
                                  not (variant or self.document.dirty), run_dir,
                                  tensorboard=board, **options)
        self.worker.run_started.connect(self._started)  # a method: queued to this thread
        self.worker.run_finished.connect(self._finished)
        self.worker.run_failed.connect(self._failed)
        self.document.set_read_only(True)
        self._show_message("Preparing the run: compiling the graph and loading its data\u2026")
        self.progress.setFormat("starting\u2026")
        self._set_state("running")
        self._collector.begin()
        self.worker.start()
        self._timer.start()
        return True

    def _refused(self) -> bool:
        """A graph with errors does not start: the first is named here and its node
        selected on the canvas, rather than a run that stops at once with a dialog."""
        self.document.analyse_now()
        errors = [d for d in self.document.diagnostics if d.is_error]
        if not errors:
            return False
        first = errors[0]
        more = f" (and {len(errors) - 1} more in the Problems list)" if len(errors) > 1 else ""
        text = f"Cannot start training: {place(first)}: {first.message}{more}"
        self._show_message(text, error=True)
        self.document.message.emit(text)  # in the status bar too, whichever tab is in front
        group = self.document.graph.group(first.node) if first.node is not None else None
        if group is not None:
            self.document.reveal(group.members + group.losses)
        elif first.node is not None:
            self.document.reveal([first.node])  # a node, or a path inside an instance
        return True

    def toggle_pause(self) -> None:
        if self.worker is None or self.state not in ("running", "paused"):
            return
        if self.worker.paused:
            self.worker.resume()
            self._rate.clear()  # the pause must not count as slow steps
            self._set_state("running")
        else:
            self.worker.pause()
            self._set_state("paused")
            self.eta.setText("paused")

    def stop(self) -> None:
        """Ends the run after its current step; the weights trained so far are kept."""
        if self.worker is not None and self.state in ("running", "paused"):
            self.worker.stop()
            self._set_state("stopping")
            self.eta.setText("stopping\u2026")

    def shutdown(self, ms: int = 30_000) -> None:
        """Stops any run and waits for its thread (the window is closing)."""
        if self.sweep_dialog is not None:
            self.sweep_dialog.shutdown(ms / 1000)
        if self.worker is not None and self.worker.is_running():
            self.worker.stop()
            self.worker.wait(ms)
        self._collector.end()
        self.results.wait(ms / 1000)
        self.preview_runs.wait(ms / 1000)

    def drain(self, final: bool = False) -> None:
        """Takes the worker's new events and redraws what grew (the timer's slot); `final`
        draws everything, learning rates included."""
        if self.worker is None:
            return
        previews = []
        for event in self.worker.drain():
            if event["kind"] == "start":
                self._begin(event)
            elif event["kind"] == "preview":
                previews.append(event)
            elif self.history is not None:
                self.history.add(event)
        if previews:
            self.previews.add(*previews)
        if self.history is not None:
            if self.curves is not None:
                self.curves.refresh(self.history, final=final)
            self._show_progress()
        self._collector.tick()

    def _started(self) -> None:
        self.drain()  # now, not at the next tick: the worker waits for the plots

    def _ensure_curves(self) -> None:
        """Builds the plots (importing pyqtgraph) once, before the first run's thread
        starts: on the GUI thread during training it would hold back the steps."""
        if self.curves is not None:
            return
        from gui.training.curves import CurvesView

        self.curves = CurvesView()
        self.curves.setObjectName("training_curves")
        self.curves_area.addWidget(self.curves)
        self.curves_area.setCurrentWidget(self.curves)
        self.tabs.setCurrentIndex(0)

    def _begin(self, start: dict) -> None:
        from gui.training.curves import setup_for
        from gui.training.history import RunHistory

        self.history = RunHistory(start)
        self._ensure_curves()
        self.curves.setup(setup_for(self.history, self.run_graph))
        self.curves.set_log(self.log_scale.isChecked())
        self._draw_overlay()
        first, total = self.history.first_step, self.history.total_steps
        self.progress.setRange(0, max(1, total - first))
        self._show_message("")
        # The first steps go once the new plots are laid out and painted (a zero timer runs
        # after the pending layout and paint events): then they do not race that work.
        QTimer.singleShot(0, self._release_worker)

    def _draw_overlay(self) -> None:
        """Draws the runs ticked for overlay behind the curves (with no live run, on plots
        of the open graph)."""
        from gui.training.run_overlay import RunOverlay, empty_setup

        runs = self.runs_view.overlaid()
        if self.curves is None and not runs:
            return
        if self.history is None and runs:
            self._ensure_curves()
            steps = max(history.steps_done for _, history, _ in runs)
            self.curves.setup(empty_setup(self.document.graph, steps))
            self.curves.set_log(self.log_scale.isChecked())
        self.overlay = self.overlay or RunOverlay()
        self.overlay.draw(self.curves, runs)

    def _release_worker(self) -> None:
        if self.worker is not None:
            self.worker.ready()

    def _show_progress(self) -> None:
        h = self.history
        done = h.steps_done - h.first_step
        self.progress.setValue(done)
        self.progress.setFormat(f"step {h.steps_done} / {h.total_steps} \u00b7 epoch "
                                f"{h.epoch + 1}")
        if self.state != "running":
            return
        now = time.monotonic()
        self._rate.append((now, h.steps_done))
        while now - self._rate[0][0] > RATE_WINDOW_S:
            self._rate.popleft()
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        if s1 > s0 and t1 > t0:
            rate = (s1 - s0) / (t1 - t0)
            left = (h.total_steps - h.steps_done) / rate
            self.eta.setText(f"{rate:,.0f} steps/s \u00b7 ETA {_clock(left)}")

    def _end(self) -> None:
        self._timer.stop()
        self.drain(final=True)
        if self.worker is not None:
            self.worker.wait(10_000)
        self._collector.end()
        self.document.set_read_only(False)
        self._set_state("idle")

    def _finished(self, result: Any) -> None:
        self._end()
        verb = "Finished" if result.status == "finished" else "Stopped"
        self.eta.setText(f"{verb} after {result.steps} steps")
        saved = f"; checkpoint {result.checkpoint}" if result.checkpoint else ""
        board = self.worker.tensorboard
        logs = f" TensorBoard logs: {board}." if board else ""
        self.document.message.emit(f"Training {verb.lower()} after {result.steps} steps"
                                   f"{saved}; the graph is editable again")
        self.results.set_run(result.model, self.run_graph, self.history, result.val,
                             result.accuracy,
                             f"After step {result.steps} ({result.status}).{logs}",
                             self.worker.confusion)
        self.runs_view.refresh()
        self.last_status = result.status
        self.run_ended.emit(self.worker.run_dir)

    def _failed(self, message: str, error: BaseException) -> None:
        self.error = error
        self._end()
        self.runs_view.refresh()
        text = failure_text(message, getattr(error, "node", None), getattr(error, "step", None))
        self.eta.setText("failed")
        self._show_message(text, error=True)
        self.document.message.emit(text.splitlines()[0])
        self.last_status = "failed"
        if self.sweep_run:  # the sweep's table tells it; the next value goes on
            self.run_ended.emit(self.worker.run_dir)
            return
        node = (getattr(error, "node", None) or "").split(".")[0]
        if node.split(SEPARATOR)[0] in self.document.graph.nodes:
            self.document.reveal([node])
        box = QMessageBox(QMessageBox.Icon.Warning, "Training stopped", text,
                          parent=self.window())
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.failure_box = box
        self.run_ended.emit(self.worker.run_dir)

    def open_sweep(self) -> None:
        """Shows the sweep dialog, its target preselected from the canvas's selection."""
        from gui.training.sweep_dialog import SweepDialog

        if self.sweep_dialog is None:
            self.sweep_dialog = SweepDialog(self, self.window())
        self.sweep_dialog.open_for(*self.selection())


def failure_text(message: str, node: str | None, step: int | None) -> str:
    """The message a failed run stops with, naming its node and step where the error's own
    text does not already."""
    where = ""
    if node and node not in message:
        where += f" in node {node}"
    if step is not None and f"step {step}" not in message:
        where += f" at step {step}"
    return f"Training stopped{where}: {message}"


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"
