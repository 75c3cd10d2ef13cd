"""The Results tab: the final metrics of the latest run, where its classifiers go wrong
(confusion matrices and their worst mistakes), and what can be done with the trained weights:
save them, load weights back (refused when they do not fit the graph), evaluate them on the
validation split, export the inference path as ONNX (both off the GUI thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from composer.errors import ComposerError
from gui.training.actions import make_action
from gui.training.confusion_view import ConfusionView
from gui.training.results import ResultsTable, result_rows
from gui.worker import BackgroundTask, GuiCollector, confusion_of

NO_RESULTS = "No results yet."
TABLE_MIN_PX = 150  # the metrics table shrinks no more, however many losses it lists


class ResultsPage(QWidget):
    """Holds the trained (or loaded) model, the graph it belongs to and the run behind it."""

    message = Signal(str, bool)  # a line for the panel to show; True when it is an error
    busy_changed = Signal(bool)  # an evaluation started or ended

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.model = None
        self.graph = None  # a copy: the graph the model was trained or loaded for
        self.history = None  # the RunHistory that trained it (None for loaded weights)
        self.busy = False
        self._idle = True  # no run going on
        self._task: BackgroundTask | None = None
        self._failure = ""  # how a failure of the task running now begins
        self._collector = GuiCollector()
        self.table = ResultsTable()
        self.note = QLabel(NO_RESULTS, wordWrap=True)
        self.confusion = ConfusionView()
        self.confusion.hide()
        self.actions = {
            "save_weights": make_action(self, "save_weights", "Save &Weights\u2026",
                                        self.save_weights, "",
                                        "save the trained model's weights (a torch "
                                        "state_dict)"),
            "load_weights": make_action(self, "load_weights", "&Load Weights\u2026",
                                        self.load_weights, "",
                                        "load weights saved from this graph"),
            "evaluate": make_action(self, "evaluate", "&Evaluate", self.evaluate, "",
                                    "the model's losses and accuracy on the validation split"),
            "export_onnx": make_action(self, "export_onnx", "Export &ONNX\u2026",
                                       self.export_onnx, "",
                                       "write the model, with these weights, as an ONNX file "
                                       "computing the outputs you choose"),
        }
        buttons = QHBoxLayout()
        for action in self.actions.values():
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        layout.addWidget(self.confusion, 1)
        self._update_actions()

    def set_idle(self, idle: bool) -> None:
        self._idle = idle
        self._update_actions()

    def _update_actions(self) -> None:
        free = self._idle and not self.busy
        self.actions["save_weights"].setEnabled(free and self.model is not None)
        self.actions["evaluate"].setEnabled(free and self.model is not None)
        self.actions["export_onnx"].setEnabled(free and self.model is not None)
        self.actions["load_weights"].setEnabled(free)

    def clear(self) -> None:
        """Forgets the model: it belongs to a graph no longer open."""
        self.model = self.graph = self.history = None
        self.table.setRowCount(0)
        self.confusion.show_confusions([])
        self.note.setText(NO_RESULTS)
        self._update_actions()

    def set_run(self, model: Any, graph: Any, history: Any, val: dict, accuracy: dict,
                note: str, confusion: tuple[list, str] = ([], "")) -> None:
        """A run ended: its model, the graph copy it trained, its last validation and the
        confusion of its classifiers (gui.worker.confusion_of)."""
        self.model, self.graph, self.history = model, graph, history
        self.show_metrics(val, accuracy, note)
        self.confusion.show_confusions(*confusion)
        self._update_actions()

    def show_metrics(self, val: dict, accuracy: dict, note: str) -> None:
        group_losses = {}
        if self.graph is not None:
            for g in self.graph.groups:
                group_losses[g.id] = {
                    n: float(self.graph.nodes[n].resolved_params().get("weight", 1.0))
                    for n in g.losses if n in self.graph.nodes}
        self.table.show_rows(result_rows(self.history, val, accuracy, group_losses))
        t = self.table  # as tall as its rows: the room below is the confusion matrix's
        rows = t.horizontalHeader().sizeHint().height() + 2 * t.frameWidth() + sum(
            t.rowHeight(r) for r in range(t.rowCount()))
        t.setMinimumHeight(min(rows, TABLE_MIN_PX))
        t.setMaximumHeight(rows)
        self.note.setText(f"{note} Validation: each loss node on its data's validation split.")

    def save_weights(self, path: str | Path | None = None) -> Path | None:
        """Writes the model's state_dict; asks where when no path is given."""
        from gui.training.weights import save_weights

        if self.model is None:
            self.message.emit("No trained weights yet: train or load weights first.", False)
            return None
        if path is None:
            stem = self.document.path.name.split(".")[0] if self.document.path else "model"
            path, _ = QFileDialog.getSaveFileName(self, "Save weights", f"{stem}.weights.pt",
                                                  "PyTorch weights (*.pt)")
            if not path:
                return None
        saved = save_weights(self.model, path)
        self.message.emit(f"Saved the weights to {saved}.", False)
        return saved

    def load_weights(self, path: str | Path | None = None) -> bool:
        """Loads weights into the graph as it is now; refuses a file that does not fit."""
        import composer
        from gui.training.weights import WeightsError, load_into

        if not self._idle or self.busy:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load weights", "",
                                                  "PyTorch weights (*.pt *.pth)")
            if not path:
                return False
        try:
            graph = self.document.graph.copy()
            model = load_into(composer.compile(graph, pretrained=False), path)
        except (WeightsError, composer.ComposerError, ValueError) as e:
            self.message.emit(f"Weights not loaded: {e}", True)
            return False
        self.clear()
        self.model, self.graph = model, graph
        self.note.setText(f"Loaded {Path(path).name}; Evaluate shows how it does.")
        self.message.emit(f"Loaded the weights from {path}.", False)
        self._update_actions()
        return True

    def evaluate(self) -> None:
        """Evaluates the model on the validation split, off the GUI thread."""
        import composer

        if self.model is None or not self._idle or self.busy:
            return
        model, graph = self.model, self.graph
        self._start(lambda: (composer.evaluate(graph, model), confusion_of(graph, model)),
                    "Evaluating on the validation split\u2026", self._evaluated,
                    "Evaluation failed")

    def _start(self, work: Any, doing: str, done: Any, failure: str) -> None:
        """Runs `work` off the GUI thread; `done` gets its result, a failure is one line."""
        self._task = BackgroundTask(work, self)
        self._task.done.connect(done)
        self._failure = failure
        self._task.failed.connect(self._failed)
        self._set_busy(True)
        self.message.emit(doing, False)
        self._collector.begin()
        self._task.start()

    def export_onnx(self, path: str | Path | None = None,
                    outputs: list[str] | None = None) -> bool:
        """Writes the model's path to chosen outputs as ONNX, with its weights now, off the
        GUI thread; asks which outputs and where when not given."""
        from gui.training.onnx_outputs import OnnxOutputsDialog

        if self.model is None or self.graph is None or not self._idle or self.busy:
            return False
        try:
            from composer.export_onnx import default_outputs, output_choices, require_extra

            require_extra()
            if outputs is None:
                dialog = OnnxOutputsDialog(output_choices(self.graph),
                                           default_outputs(self.graph), self)
                if not dialog.exec():
                    return False
                outputs = dialog.chosen()
        except ComposerError as e:
            self.message.emit(f"Cannot export ONNX: {e}", True)
            return False
        if path is None:
            stem = self.document.path.name.split(".")[0] if self.document.path else "model"
            path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", f"{stem}.onnx",
                                                  "ONNX models (*.onnx)")
            if not path:
                return False
        self._start(self._onnx_task(Path(path), outputs), "Exporting to ONNX\u2026",
                    self._exported, "ONNX export failed")
        return True

    def _onnx_task(self, path: Path, outputs: list[str]) -> Any:
        from composer.export_onnx import export_onnx

        graph = self.graph
        weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        return lambda: export_onnx(graph, path, outputs, weights=weights)

    def _exported(self, done: Any) -> None:
        self._set_busy(False)
        self.message.emit(f"Exported {', '.join(done.outputs)} (from "
                          f"{', '.join(done.inputs)}) to {done.path}.", False)

    def wait(self, seconds: float) -> None:
        if self._task is not None:
            self._task.wait(seconds)

    def _set_busy(self, busy: bool) -> None:
        if not busy:
            self._collector.end()
        self.busy = busy
        self._update_actions()
        self.busy_changed.emit(busy)

    def _evaluated(self, result: tuple[tuple[dict, dict], tuple[list, str]]) -> None:
        metrics, confusion = result
        self._set_busy(False)
        self.message.emit("", False)
        self.show_metrics(*metrics, "Evaluated now.")
        self.confusion.show_confusions(*confusion)

    def _failed(self, message: str, error: BaseException) -> None:
        self._set_busy(False)
        self.message.emit(f"{self._failure}: {message}", True)
