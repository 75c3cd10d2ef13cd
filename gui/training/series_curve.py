"""A curve drawn from one growing series of a run's history, at a cost set by the pixels it
has rather than by the steps the run has taken.

pyqtgraph does the two things that make a long run cheap to draw: it clips a curve to the
steps in view, and where many steps share a pixel it draws their smallest and largest value
('peak' downsampling, so a one-step spike stays visible). Both are set on the plot
(`decimate`): a PlotItem gives every curve added to it the plot's own settings, so any set
on the curve before would be lost. The rest keeps a redraw from touching every point or
stroking more than the pixels show: the logarithms a log axis needs are kept as the series
grows (pyqtgraph would take the log of every point at every redraw, a copy the size of the
run), and where the points in view crowd, epoch markers give way to their line and a wide
dashed pen to a thin one (Qt strokes a wide dash around every one of thousands of zigzags:
a hundred times slower than a thin one, for a band that looks the same).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPen

from gui.training.history import Series

SAMPLES_PER_PIXEL = 2.0  # buckets a pixel, each drawn as its lowest and highest value
DOT_SPACING_PX = 4.0  # points this far apart or more show their markers and wide pens


def decimate(plot: pg.PlotItem) -> None:
    """Every curve of `plot` draws only the steps in view, and where several fall on one
    pixel their smallest and largest values. Call before adding curves."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


class SeriesCurve(pg.PlotDataItem):
    """A PlotDataItem fed from a history Series (`draw(series)` after it grows). `crowded_pen`
    replaces `pen` where the points in view crowd (`fit_detail`)."""

    def __init__(self, crowded_pen: QPen | None = None, **opts) -> None:
        opts.setdefault("autoDownsampleFactor", SAMPLES_PER_PIXEL)
        super().__init__(**opts)
        self.series: Series | None = None
        self.marker = opts.get("symbol")  # drawn where the points lie apart
        self.pens = (opts.get("pen"), crowded_pen or opts.get("pen"))  # apart, crowded
        self._apart = True
        self._log = False
        self._logs = np.empty(0)  # log10 of the series' values, filled up to _logged
        self._logged = 0
        self._drawn = 0  # how many of the series' points the curve holds

    def draw(self, series: Series | None = None) -> None:
        """Hands pyqtgraph the series as it is now: views of its arrays, never a copy."""
        if series is not None and series is not self.series:
            self.series, self._logged = series, 0
        s = self.series
        if s is None or not len(s):
            return
        self.fit_detail()  # before the data: thousands of markers are never laid out
        self._drawn = len(s)
        self.setData(s.x, self._log_values() if self._log else s.y)

    # The points as the run reported them, whatever the axis: as with pyqtgraph's own log
    # mode, the logarithms are only how they are drawn (a CSV export reads these).
    @property
    def xData(self) -> np.ndarray | None:  # noqa: N802 (pyqtgraph's name)
        return self.series.x[:self._drawn] if self._drawn else None

    @property
    def yData(self) -> np.ndarray | None:  # noqa: N802 (pyqtgraph's name)
        return self.series.y[:self._drawn] if self._drawn else None

    def getOriginalDataset(self) -> tuple[np.ndarray | None, np.ndarray | None]:  # noqa: N802
        return self.xData, self.yData

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

    def fit_detail(self) -> None:
        """Markers and the wide pen where the points in view lie DOT_SPACING_PX apart or
        more; where they crowd, the line alone, thin (after a zoom, a pan, a resize, and as
        the run grows)."""
        box = self.getViewBox()
        if self.series is None or box is None:
            return
        low, high = box.viewRange()[0]
        x = self.series.x
        visible = int(np.searchsorted(x, high, "right") - np.searchsorted(x, low))
        apart = visible * DOT_SPACING_PX <= box.width()
        if apart == self._apart:
            return
        self._apart = apart
        if self.marker is not None:
            self.setSymbol(self.marker if apart else None)
        if self.pens[0] is not self.pens[1]:
            self.setPen(self.pens[0] if apart else self.pens[1])
