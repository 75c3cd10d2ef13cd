"""A curve drawn from one growing series of a run's history, at a cost set by the pixels it
has rather than by the steps the run has taken.

pyqtgraph does the two things that make a long run cheap to draw: it clips a curve to the
steps in view, and where many steps share a pixel it draws their smallest and largest value
('peak' downsampling, so a one-step spike stays visible). Both are set on the plot
(`decimate`): a PlotItem gives every curve added to it the plot's own settings, so any set
on the curve before would be lost. Two more things here keep a redraw from touching every
point: the logarithms a log axis needs are kept as the series grows (pyqtgraph would take the
log of every point at every redraw, a copy the size of the run), and epoch markers give way
to their line where they would pile up.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from gui.training.history import Series

SAMPLES_PER_PIXEL = 2.0  # buckets a pixel, each drawn as its lowest and highest value
DOT_SPACING_PX = 4.0  # epoch markers are drawn where they lie at least this far apart


def decimate(plot: pg.PlotItem) -> None:
    """Every curve of `plot` draws only the steps in view, and where several fall on one
    pixel their smallest and largest values. Call before adding curves."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


class SeriesCurve(pg.PlotDataItem):
    """A PlotDataItem fed from a history Series (`draw(series)` after it grows)."""

    def __init__(self, **opts) -> None:
        opts.setdefault("autoDownsampleFactor", SAMPLES_PER_PIXEL)
        super().__init__(**opts)
        self.series: Series | None = None
        self.marker = opts.get("symbol")  # drawn when the points lie apart (`fit_markers`)
        self._marked = self.marker is not None
        self._log = False
        self._logs = np.empty(0)  # log10 of the series' values, filled up to _logged
        self._logged = 0

    def draw(self, series: Series | None = None) -> None:
        """Hands pyqtgraph the series as it is now: views of its arrays, never a copy."""
        if series is not None:
            self.series = series
        s = self.series
        if s is None or not len(s):
            return
        self.fit_markers()  # before the data: thousands of markers are never laid out
        self.setData(s.x, self._log_values() if self._log else s.y)

    def setLogMode(self, xState: bool, yState: bool) -> None:  # noqa: N802, N803 (pyqtgraph)
        """The plot's log axis: this curve hands over logarithms it keeps itself, so
        pyqtgraph maps nothing."""
        self._log = bool(yState)
        super().setLogMode(xState, False)
        self.draw()

    def _log_values(self) -> np.ndarray:
        """log10 of the series, computed for the values added since the last call only;
        zero and negative values have none (NaN: a gap, as pyqtgraph draws them)."""
        s = self.series
        n = len(s)
        if len(self._logs) < n:
            self._logs = np.resize(self._logs, max(2 * n, 256))
        if self._logged < n:
            new = s.y[self._logged:n]
            with np.errstate(divide="ignore", invalid="ignore"):
                self._logs[self._logged:n] = np.where(new > 0, np.log10(new), np.nan)
            self._logged = n
        return self._logs[:n]

    def fit_markers(self) -> None:
        """Markers where the points in view lie DOT_SPACING_PX apart or more; the line alone
        where they would pile up (thousands of markers cost every redraw and show nothing
        the line does not)."""
        box = self.getViewBox()
        if self.marker is None or self.series is None or box is None:
            return
        low, high = box.viewRange()[0]
        x = self.series.x
        visible = int(np.searchsorted(x, high, "right") - np.searchsorted(x, low))
        marked = visible * DOT_SPACING_PX <= box.width()
        if marked != self._marked:
            self._marked = marked
            self.setSymbol(self.marker if marked else None)
