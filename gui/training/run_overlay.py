"""Past runs drawn behind the live curves: each loss in its own colour, as the live curve of
that loss, but faint and dashed, one dash pattern per run; validation as faint dots. The
legend names each run (its label, or its id) beside its dash pattern.

A run's curves come from its metrics.jsonl, read into the RunHistory the live curves draw
from. With no live run the plots are laid out for the open graph, empty, and the past runs
drawn on them.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from composer.runs import Run
from gui import theme
from gui.training.curves import NO_GROUP_COLOR, CurvesView, Setup, loss_colors, setup_for
from gui.training.history import RunHistory

ALPHA = 120  # of 255: behind the live curves, still readable
# A pattern per run; never plain dashes, which are the live groups' weighted totals.
DASHES = (Qt.PenStyle.DashDotLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotDotLine)
Z = -10  # above the shaded phases (-100), under the live curves (0)


def history_of(run: Run) -> RunHistory:
    """A run's metrics as a RunHistory. Validation records carry no step: each is drawn at
    the end of the last step before it, as the live curves draw it."""
    records = run.metrics()
    losses = list(dict.fromkeys(n for r in records for n in r.get("loss", {})))
    steps = max(run.record.steps, 1)
    history = RunHistory({"total_steps": steps, "steps_per_epoch": steps, "losses": losses,
                          "groups": [], "step": 0})
    last = -1
    for record in records:
        try:
            if "loss" in record:
                last = int(record.get("step", last + 1))
                history.add({"kind": "step", "epoch": record.get("epoch", 0), "step": last,
                             "loss": dict(record["loss"]), "group_loss": {}, "lr": {}})
            elif "val" in record:
                history.add({"kind": "epoch", "epoch": record.get("epoch", 0),
                             "step": max(last, 0), "val": dict(record["val"]),
                             "accuracy": dict(record.get("accuracy") or {})})
        except (TypeError, ValueError):  # a line some other program wrote: not drawn
            continue
    return history


def empty_setup(graph: Any, steps: int) -> Setup:
    """The plots of the open graph with no run in them yet, `steps` wide."""
    losses = [n.id for n in graph.nodes.values()
              if (t := graph.type_of(n)) is not None and t.is_loss]
    start = {"total_steps": max(steps, 1), "steps_per_epoch": max(steps, 1), "losses": losses,
             "groups": [g.id for g in graph.groups], "step": 0}
    return setup_for(RunHistory(start), graph)


class RunOverlay:
    """The past runs drawn on a CurvesView; `draw()` again after the view's `setup()`."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], pg.PlotDataItem] = {}  # (run, kind, loss)
        self.samples: dict[str, pg.PlotDataItem] = {}  # run id -> its legend sample
        self._drawn_on: CurvesView | None = None

    def draw(self, curves: CurvesView, runs: list[tuple[Run, RunHistory, Any]]) -> None:
        """Draws `runs` (each with its history and graph) behind the live curves."""
        self.clear()
        self._drawn_on = curves
        if curves.loss_plot is None:
            return
        bounds, last = [], 0
        for index, (run, history, graph) in enumerate(runs):
            dash = DASHES[index % len(DASHES)]
            colors = _colors(history, graph)
            for name in history.losses:
                color = _faint(colors.get(name, NO_GROUP_COLOR))
                self._add(curves.loss_plot, (run.id, "loss", name), history.series["loss"],
                          name, pen=pg.mkPen(color, width=1, style=dash))
                self._add(curves.loss_plot, (run.id, "val", name), history.series["val"], name,
                          pen=None, symbol="o", symbolSize=5, symbolBrush=color,
                          symbolPen=None)
                if curves.accuracy_plot is not None:
                    self._add(curves.accuracy_plot, (run.id, "accuracy", name),
                              history.series["accuracy"], name,
                              pen=pg.mkPen(color, width=1, style=dash))
            for kind in ("loss", "val"):
                bounds += [(s.low, s.high) for s in history.series[kind].values() if len(s)]
            last = max(last, history.steps_done)
            self._legend(curves, run, dash)
        curves.overlay_bounds = bounds
        curves.show_steps_up_to(last)

    def _add(self, plot: pg.PlotItem, key: tuple[str, str, str], table: dict, name: str,
             **style: Any) -> None:
        series = table.get(name)
        if series is None or not len(series):
            return
        item = pg.PlotDataItem(**style)
        item.setZValue(Z)
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        plot.addItem(item)  # in its plot before it has data: clipping needs the plot's view
        item.setData(series.x, series.y)
        self.items[key] = item

    def _legend(self, curves: CurvesView, run: Run, dash: Qt.PenStyle) -> None:
        """One row per run: its dash in grey, its label (or id)."""
        legend = curves.legend
        if legend is None:
            return
        gray = QColor("#8b949e" if theme.is_dark() else "#606a74")
        sample = pg.PlotDataItem(pen=pg.mkPen(gray, width=1.5, style=dash))
        label = f"run {run.record.label or run.id}"  # short: the legend is a narrow column
        legend.setMaximumHeight(16_777_215)
        legend.addItem(sample, label)
        legend.updateSize()
        legend.setMaximumHeight(legend.height())
        self.samples[run.id] = sample

    def clear(self) -> None:
        """Takes the past runs off the plots. After the view's `setup()` they are gone with
        the old plots already, and only forgotten here."""
        curves = self._drawn_on
        try:
            for item in self.items.values():
                box = item.getViewBox()
                if box is not None:
                    box.removeItem(item)
            if curves is not None and curves.legend is not None:
                for sample in self.samples.values():
                    curves.legend.removeItem(sample)
        except RuntimeError:  # the plots were replaced: their items went with them
            pass
        if curves is not None:
            curves.overlay_bounds = []
        self.items.clear()
        self.samples.clear()


def _colors(history: RunHistory, graph: Any) -> dict[str, str]:
    """The colours the live curves give these losses: a shade of their group's colour."""
    if graph is None:
        return {}
    loss_groups = {n: g.id for g in graph.groups for n in g.losses}
    group_colors = {g.id: g.ui.get("color", NO_GROUP_COLOR) for g in graph.groups}
    return loss_colors(history.losses, loss_groups, group_colors, theme.is_dark())


def _faint(color: str) -> QColor:
    faint = QColor(color)
    faint.setAlpha(ALPHA)
    return faint
