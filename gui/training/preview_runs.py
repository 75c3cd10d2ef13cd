"""What the Training panel asks of runs for previews: the watched outputs when a run starts,
a watch changed while it trains, and Preview now (at the run's next step, or from the trained
model once the run is over). The view (gui.training.previews) draws what comes back.

The watch list is the document's (`ui.watch`); the cards show the outputs of the graph a run
trains (its copy), or of the document's graph between runs.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject

from composer.graph import Graph
from composer.previews import outputs_to_compute, preview_plan, watched
from gui.training.previews import PreviewsView
from gui.worker import BackgroundTask, GuiCollector

BEFORE_RUN = "Shown after each epoch of a run; Preview now shows the trained model's."
OTHER_PROCESSES = ("This run trains in other processes: they preview the outputs watched when "
                   "it started, after each epoch.")
NOTHING_TRAINED = "Nothing trained yet: start a run (F9), or load weights, then Preview now."
AFTER_RUN = "Preview now shows what the trained model makes of it."


class PreviewRuns(QObject):
    """Keeps the previews view in step with the panel's runs and the document's watch list."""

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.panel = panel
        self.view = PreviewsView()
        self.view.preview_requested.connect(self.preview_now)
        self.graph: Graph | None = None  # the copy the latest run trained, while it is shown
        self._task: BackgroundTask | None = None
        self._collector = GuiCollector()
        self._generation = 0  # a preview computed for an older run or graph is not shown

    def _plan(self, graph: Graph) -> dict[str, dict[str, Any]]:
        return preview_plan(graph, watched(self.panel.document.graph))

    def graph_replaced(self) -> None:
        """Another graph is open: its watched outputs, no previews yet."""
        self._generation += 1
        self.graph = None
        self.view.set_plan(self._plan(self.panel.document.graph))
        self.view.clear(BEFORE_RUN)

    def run_started(self, graph: Graph) -> list[str]:
        """A run of `graph` (the copy it trains) starts: the outputs it is to preview (the
        watched ones and the images their boxes go on), in a list the run reads at each
        preview."""
        self._generation += 1
        self.graph = graph
        plan = self._plan(graph)
        self.view.set_plan(plan)
        self.view.clear()
        return outputs_to_compute(plan)

    def watch_changed(self) -> None:
        """An output was watched or no longer: the cards follow, and a run inside the window
        computes the new list at its next step."""
        plan = self._plan(self.graph if self.graph is not None else self.panel.document.graph)
        if self.panel.state == "idle":
            self.view.waiting = BEFORE_RUN if self.panel.results.model is None else AFTER_RUN
        self.view.set_plan(plan)
        worker = self.panel.worker
        if self.panel.state not in ("running", "paused") or worker is None:
            return
        if worker.set_watch(outputs_to_compute(plan)):
            worker.request_preview()
        else:
            self.view.say(OTHER_PROCESSES)

    def preview_now(self) -> None:
        """The watched outputs now: the running run's at its next step, else the trained (or
        loaded) model's, computed off the GUI thread."""
        panel = self.panel
        self.view.say("")
        if panel.state in ("running", "paused", "stopping"):
            if panel.worker is not None and not panel.worker.request_preview():
                self.view.say(OTHER_PROCESSES)
            return
        model, graph = panel.results.model, panel.results.graph
        if model is None or graph is None:
            self.view.say(NOTHING_TRAINED)
            return
        if self._task is not None:
            return  # one at a time
        plan = self._plan(graph)
        self.graph = graph
        self.view.set_plan(plan)
        refs = outputs_to_compute(plan)
        generation = self._generation

        def work() -> tuple[dict, dict]:
            import composer

            return composer.preview(graph, copy.deepcopy(model), refs)

        self._task = BackgroundTask(work, self)
        self._task.done.connect(lambda result: self._computed(result, generation))
        self._task.failed.connect(self._failed)
        self._collector.begin()
        self._task.start()

    def _computed(self, result: tuple[dict, dict], generation: int) -> None:
        self._finished()
        if generation == self._generation:
            outputs, notes = result
            self.view.add({"kind": "preview", "epoch": None, "step": None, "outputs": outputs,
                           "notes": notes, "asked": True})

    def _failed(self, message: str, error: BaseException) -> None:
        self._finished()
        self.view.say(f"Preview failed: {message}")

    def _finished(self) -> None:
        self._task = None
        self._collector.end()

    def wait(self, seconds: float = 30.0) -> None:
        if self._task is not None:
            self._task.wait(seconds)
