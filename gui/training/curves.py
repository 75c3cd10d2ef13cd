"""Live training curves: losses per loss node and per group, validation per epoch, accuracy,
learning rates, and behind them the schedule's phases (which groups train when).

Drawn with pyqtgraph from a RunHistory's arrays; `refresh()` sets the data of only the
series that grew, and each curve downsamples itself to the pixels it has (peak method, clipped
to the view), so a run of any length redraws in the same time. Imported when the first run
starts, so pyqtgraph never slows the application's start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from composer.schedules import Phase, Span, group_spans, warmup_updates
from composer.schedules import phases as schedule_phases
from gui import theme
from gui.training.history import RunHistory
from gui.training.log_axis import LossAxis
from gui.training.series_curve import SeriesCurve, decimate

NO_GROUP_COLOR = "#9e9e9e"
ROW_HEIGHT = 16  # pixels per group in the schedule strip
MIN_AXIS_WIDTH = 72
LR_HEIGHT = 92  # pixels of the learning-rate plot
LR_EVERY = 4  # learning rates redraw on every 4th refresh


@dataclass
class Setup:
    """What the plots need to know before the first step arrives."""

    history: RunHistory
    group_colors: dict[str, str]  # group id -> its halo colour
    phases: list[Phase]
    loss_groups: dict[str, str]  # loss node -> the group that minimises it
    same_as_loss: set[str]  # groups whose total is their one loss (weight 1): drawn once
    accuracy_losses: list[str]  # cross-entropy losses, which report accuracy
    names: dict[str, str] = field(default_factory=dict)  # loss node -> its label (or id)


def setup_for(history: RunHistory, graph: Any) -> Setup:
    """The Setup of a run of `graph` (the copy it trains) that has just started."""
    colors = {g.id: g.ui.get("color", NO_GROUP_COLOR) for g in graph.groups}
    warmups = {g.id: n for g in graph.groups if (n := warmup_updates(g.lr_schedule))}
    phases = schedule_phases(history.start.get("schedule", {}), history.total_steps,
                             history.steps_per_epoch, warmups)
    loss_groups = {n: g.id for g in graph.groups for n in g.losses}
    same = set()
    for g in graph.groups:
        weights = [graph.nodes[n].resolved_params()["weight"] for n in g.losses
                   if n in graph.nodes]
        if weights == [1.0]:
            same.add(g.id)
    accuracy = [n for n in history.losses
                if n in graph.nodes and graph.nodes[n].node_type.accuracy]
    names = {n: graph.nodes[n].label or n for n in history.losses if n in graph.nodes}
    return Setup(history, colors, phases, loss_groups, same, accuracy, names)


class CurvesView(QWidget):
    """The plots of one run. `setup()` when it starts, `refresh()` on the redraw timer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.items: dict[tuple[str, str], SeriesCurve] = {}
        self.loss_plot: pg.PlotItem | None = None
        self.accuracy_plot: pg.PlotItem | None = None
        self.lr_plot: pg.PlotItem | None = None
        self.strip: pg.PlotItem | None = None
        self.legend: pg.LegendItem | None = None
        self._colors: dict[str, str] = {}
        self._loss_colors: dict[str, str] = {}
        self._log = False
        self._refreshes = 0
        self._history: RunHistory | None = None
        self._follow = True  # the loss range follows the data until the user zooms
        self._lr_top = 0.0
        self._x_range = (0, 1)
        self.overlay_bounds: list[tuple[float, float]] = []  # (low, high) of past runs shown

    # --- building ------------------------------------------------------------------------
    def setup(self, setup: Setup) -> None:
        """Lays out fresh plots for a run: its series, colours, phases and x range."""
        h = setup.history
        self.canvas.clear()
        self.items.clear()
        self._history, self._follow, self._lr_top = h, True, 0.0
        dark = theme.is_dark()
        self.canvas.setBackground(theme.current().background if dark else QColor("#ffffff"))
        self._colors = dict(setup.group_colors)
        left = self.canvas.addLayout(0, 0)
        self.strip = left.addPlot(0, 0)
        self.loss_plot = left.addPlot(1, 0, axisItems={"left": LossAxis("left")})
        self.lr_plot = left.addPlot(2, 0)
        self.legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-6,
                                    labelTextColor="#c9d1d9" if dark else "#303840")
        left.addItem(self.legend, row=1, col=1, rowspan=2)  # beside the curves, never on them
        left.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)
        self.legend.sigSampleClicked.connect(self._legend_clicked)
        accuracy = [n for n in h.losses if n in setup.accuracy_losses]
        self.accuracy_plot = None
        if accuracy:
            self.accuracy_plot = self.canvas.addLayout(0, 1).addPlot(0, 0)
            self.canvas.ci.layout.setColumnStretchFactor(0, 3)
            self.canvas.ci.layout.setColumnStretchFactor(1, 1)
        for plot in self._plots():
            _style(plot, dark)
            decimate(plot)
        self._build_strip(h.groups, setup.phases)
        self._build_loss_plot(h, setup)
        self._build_accuracy_plot(accuracy, setup.names)
        self._build_lr_plot(h.groups)
        for plot in self._plots():
            if plot is not self.loss_plot:
                plot.setXLink(self.loss_plot)
            if plot is not self.strip:
                _shade_phases(plot, setup.phases, self._colors)
        for plot in self._plots():  # the whole run from the start: nothing re-ranges in x
            plot.enableAutoRange(x=False)
        for plot in (self.loss_plot, self.accuracy_plot):  # a zoom or pan: markers and pens fit
            if plot is not None:
                plot.sigXRangeChanged.connect(self._fit_detail)
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            if plot is not None:
                plot.getViewBox().sigResized.connect(self._resized)
        self._x_range = (h.first_step, max(h.total_steps, h.first_step + 1))
        self.set_log(self._log)

    def _plots(self) -> list[pg.PlotItem]:
        return [p for p in (self.strip, self.loss_plot, self.accuracy_plot, self.lr_plot) if p]

    def _build_loss_plot(self, h: RunHistory, setup: Setup) -> None:
        plot = self.loss_plot
        plot.enableAutoRange(y=False)  # fit_losses keeps the data in view, more cheaply
        plot.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        plot.setLabel("left", "loss")
        plot.setTitle("loss: lines per step, dots per validation",
                      size="9pt")
        totals = [g for g in h.groups if g not in setup.same_as_loss]
        self._loss_colors = loss_colors(h.losses, setup.loss_groups, self._colors,
                                        theme.is_dark())
        for name in h.losses:
            color = self._loss_colors[name]
            group = setup.loss_groups.get(name)
            shown = setup.names.get(name, name)
            label = f"{shown} \u00b7 {group}" if group else shown
            curve = self._curve(plot, ("loss", name), pg.mkPen(color, width=1), None)
            self.legend.addItem(curve, label)
            dotted = pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine)
            edge = pg.mkPen(self.canvas.backgroundBrush().color(), width=1)
            self._curve(plot, ("val", name), dotted, None, symbol="o", symbolSize=7,
                        symbolBrush=color, symbolPen=edge)
        for group in totals:
            color = self._colors.get(group, NO_GROUP_COLOR)
            pen = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine)
            thin = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine)
            curve = self._curve(plot, ("group_loss", group), pen, None, crowded_pen=thin)
            self.legend.addItem(curve, f"{group} total (weighted)")
        self.legend.updateSize()
        self.legend.setMaximumHeight(self.legend.height())  # rows stay together at the top

    def _build_accuracy_plot(self, losses: list[str], names: dict[str, str]) -> None:
        plot = self.accuracy_plot
        if plot is None:
            return
        plot.setTitle("validation accuracy", size="9pt")
        plot.setYRange(0.0, 1.0, padding=0.03)
        plot.enableAutoRange(y=False)
        _legend(plot, (-8, -8))
        for name in losses:
            color = self._loss_colors[name]
            self._curve(plot, ("accuracy", name), pg.mkPen(color, width=1.5),
                        names.get(name, name),
                        symbol="o", symbolSize=6, symbolBrush=color)

    def _build_lr_plot(self, groups: list[str]) -> None:
        """A low strip under the losses: each group's learning rate, in its colour."""
        plot = self.lr_plot
        plot.setLabel("left", "lr")
        plot.setLabel("bottom", "step")
        plot.setMaximumHeight(LR_HEIGHT)
        plot.setMinimumHeight(LR_HEIGHT)
        plot.getAxis("left").enableAutoSIPrefix(False)
        for group in groups:
            pen = pg.mkPen(self._colors.get(group, NO_GROUP_COLOR), width=1)
            self._curve(plot, ("lr", group), pen, None)

    def _build_strip(self, groups: list[str], phases: list[Phase]) -> None:
        """One row per group; a bar where the group trains, captioned with how it trains."""
        plot = self.strip
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.showAxis("bottom", False)
        plot.setTitle("which groups train when (schedule)", size="8pt")
        rows = max(1, len(groups))
        plot.setFixedHeight(ROW_HEIGHT * rows + 26)
        plot.setYRange(0, rows, padding=0)
        plot.getAxis("left").setTicks([[(rows - i - 0.5, g) for i, g in enumerate(groups)]])
        for i, group in enumerate(groups):
            for span in group_spans(phases, group):
                self._bar(plot, group, span, rows - i - 1)
        self._align_axes(groups)

    def _bar(self, plot: pg.PlotItem, group: str, span: Span, row: int) -> None:
        color = QColor(self._colors.get(group, NO_GROUP_COLOR))
        bar = QGraphicsRectItem(QRectF(span.start, row + 0.12, span.end - span.start, 0.76))
        bar.setPen(QPen(Qt.PenStyle.NoPen))
        style = Qt.BrushStyle.SolidPattern
        if span.how == "warm-up":
            color.setAlpha(110)
        elif span.how:
            style = Qt.BrushStyle.Dense3Pattern  # takes turns: drawn dotted
        bar.setBrush(QBrush(color, style))
        how = f", {span.how}" if span.how else ""
        bar.setToolTip(f"{group} trains at steps {span.start}\u2013{span.end - 1}{how}")
        plot.addItem(bar)
        if span.how:
            text = pg.TextItem(span.how, color="#202020", anchor=(0, 0.5),
                               fill=QColor(255, 255, 255, 190))
            font = QFont(text.textItem.font())
            font.setPointSizeF(7.0)
            text.setFont(font)
            text.setPos(span.start, row + 0.5)
            plot.addItem(text)

    def _align_axes(self, groups: list[str]) -> None:
        """The strip's group names and the loss axis share one width, so steps line up."""
        font = self.strip.getAxis("left").style.get("tickFont") or self.font()
        width = max([QFontMetrics(font).horizontalAdvance(g) + 14 for g in groups]
                    + [MIN_AXIS_WIDTH])
        for plot in (self.strip, self.loss_plot, self.lr_plot):
            plot.getAxis("left").setWidth(width)

    def _curve(self, plot: pg.PlotItem, key: tuple[str, str], pen, name: str | None,
               **style) -> SeriesCurve:
        item = SeriesCurve(pen=pen, name=name, **style)
        plot.addItem(item)  # which gives it the plot's downsampling and clipping
        self.items[key] = item
        return item

    # --- updating ------------------------------------------------------------------------
    def refresh(self, history: RunHistory, final: bool = False) -> int:
        """Redraws the series that grew since the last refresh; returns how many. Learning
        rates change slowly: they are redrawn on every LR_EVERY-th refresh, and when `final`."""
        changed = history.take_changed()
        self._refreshes += 1
        if not final and self._refreshes % LR_EVERY:
            later = {key for key in changed if key[0] == "lr"}
            history.changed |= later
            changed -= later
        for kind, name in changed:
            item = self.items.get((kind, name))
            if item is not None:
                item.draw(history.series[kind][name])
        if any(kind == "lr" for kind, _ in changed):
            self._fit_rates(history)
        self._history = history
        self.fit_losses()
        return len(changed)

    def _fit_rates(self, history: RunHistory) -> None:
        top = max((s.high for s in history.series["lr"].values() if len(s)), default=0.0)
        if top != self._lr_top:
            self._lr_top = top
            self.lr_plot.setYRange(0.0, top * 1.15 or 1.0, padding=0)  # from zero: honest

    def fit_losses(self, force: bool = False) -> None:
        """Keeps the visible losses in view, changing the range only when they leave it or
        fill far less of it: a range (and so an axis) redrawn at every refresh would cost the
        GUI thread, and so the training thread, time for nothing. A user's own zoom or pan
        stays until the plot's auto-range button is pressed."""
        plot, history = self.loss_plot, self._history
        if plot is None or history is None:
            return
        box = plot.getViewBox()
        if box.state["autoRange"][1]:  # the auto-range button: follow the data again
            box.enableAutoRange(y=False)
            self._follow = True
        if not self._follow:
            return
        bounds = [(s.low, s.high) for (kind, name), item in self.items.items()
                  if kind in ("loss", "val", "group_loss") and item.isVisible()
                  and (s := history.series[kind].get(name)) is not None and len(s)]
        bounds += self.overlay_bounds
        if not bounds:
            return
        low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        if self._log:
            low, high = math.log10(max(low, 1e-12)), math.log10(max(high, 1e-12))
        span = max(high - low, 1e-9)
        now_low, now_high = box.viewRange()[1]
        if force or low < now_low or high > now_high or now_high - now_low > 2.5 * span:
            box.setYRange(low - 0.06 * span, high + 0.06 * span, padding=0)

    def _legend_clicked(self, item: pg.PlotDataItem) -> None:
        """The legend hid or showed a curve: a loss's validation points go with it, and the
        range fits what is left."""
        for (kind, name), curve in self.items.items():
            if curve is item and kind == "loss" and ("val", name) in self.items:
                self.items[("val", name)].setVisible(item.isVisible())
        self.fit_losses(force=True)

    def _fit_detail(self) -> None:
        for item in self.items.values():
            item.fit_detail()

    def _resized(self, box: pg.ViewBox) -> None:
        """pyqtgraph picks how far to downsample a curve when its data or its steps in view
        change, not when its plot is resized: a finished run's curves would keep the
        detail of the old width."""
        for item in self.items.values():
            if item.getViewBox() is box:
                item.viewRangeChanged()
                item.fit_detail()

    def _stop_following(self) -> None:
        self._follow = False

    def set_log(self, on: bool) -> None:
        """Losses on a logarithmic axis: a slow decline stays visible, and losses of very
        different sizes share the plot."""
        self._log = on
        if self.loss_plot is not None:
            self.loss_plot.setLogMode(x=False, y=on)  # (which turns auto-range back on)
            self.loss_plot.enableAutoRange(x=False)
            self.loss_plot.setXRange(*self._x_range, padding=0.01)
            self.fit_losses(force=True)

    def show_steps_up_to(self, last: int) -> None:
        """Widens the step axis to `last` (a past run shown behind may be longer)."""
        low, high = self._x_range
        if last > high:
            self._x_range = (low, last)
        self.set_log(self._log)

    def point_count(self, kind: str, name: str) -> int:
        """How many points a curve holds (what a test checks)."""
        item = self.items.get((kind, name))
        if item is None or item.xData is None:
            return 0
        return len(item.xData)


def loss_colors(losses: list[str], loss_groups: dict[str, str],
                group_colors: dict[str, str], dark: bool = False) -> dict[str, str]:
    """Each loss in a shade of its group's colour (dark to light in file order), so a
    group's losses, its total, its halo and its schedule bar read as one family."""
    members: dict[str | None, list[str]] = {}
    for name in losses:
        members.setdefault(loss_groups.get(name), []).append(name)
    colors = {}
    for group, names in members.items():
        base = QColor(group_colors.get(group, NO_GROUP_COLOR) if group else NO_GROUP_COLOR)
        for i, name in enumerate(names):
            colors[name] = _shade(base, i, len(names), dark).name()
    return colors


def _shade(base: QColor, i: int, n: int, dark: bool) -> QColor:
    if n == 1:
        return QColor(base)
    hue, saturation, _, _ = base.getHslF()
    low = 0.42 if dark else 0.22  # every shade keeps its contrast with the background
    lightness = low + 0.3 * i / (n - 1)
    return QColor.fromHslF(max(hue, 0.0), saturation, lightness)


def _style(plot: pg.PlotItem, dark: bool) -> None:
    text = QColor("#c9d1d9") if dark else QColor("#303840")
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
    plot.titleLabel.opts["color"] = text.name()


def _legend(plot: pg.PlotItem, offset: tuple[int, int]) -> pg.LegendItem:
    """A legend on a translucent card, so curves under it stay apart from its text; a click
    on an entry hides or shows that curve."""
    dark = theme.is_dark()
    card = QColor(theme.current().background if dark else QColor("#ffffff"))
    card.setAlpha(215)
    return plot.addLegend(offset=offset, labelTextSize="8pt", verSpacing=-6,
                          brush=pg.mkBrush(card), pen=pg.mkPen(QColor(128, 128, 128, 90)),
                          labelTextColor="#c9d1d9" if dark else "#303840")


def _shade_phases(plot: pg.PlotItem, phases: list[Phase], colors: dict[str, str]) -> None:
    """Behind the curves, each phase in the colour of the first group it trains."""
    if len(phases) < 2:
        return
    for i, phase in enumerate(phases):
        color = QColor(colors.get(phase.groups[0], NO_GROUP_COLOR) if phase.groups
                       else NO_GROUP_COLOR)
        color.setAlpha(34 if i % 2 == 0 else 22)
        region = pg.LinearRegionItem((phase.start, phase.end), movable=False,
                                     brush=QBrush(color), pen=pg.mkPen(None))
        region.setZValue(-100)
        region.setToolTip(phase.label)
        plot.addItem(region, ignoreBounds=True)
        if phase.start > 0:
            line = pg.InfiniteLine(phase.start, pen=pg.mkPen(QColor(120, 120, 120, 140),
                                                             style=Qt.PenStyle.DashLine))
            line.setZValue(-90)
            plot.addItem(line, ignoreBounds=True)
