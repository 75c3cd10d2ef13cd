"""The loss axis: on a log scale, tick labels that never overlap.

pyqtgraph labels every digit of a decade on a log axis (0.8, 0.9, 1, 2, ...), so within a
narrow range "0.9" is drawn on "1". Here the ticks are the densest of decades, 1-2-5, or every
digit whose labels keep `MIN_GAP_PX` apart; less than a decade in view gets evenly spaced
round values instead, so there are always a few labels and never two on one another.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

MIN_GAP_PX = 22.0  # between two labels on the axis: a line of 8-9 pt text and some air
MANTISSAS = ((1,), (1, 2, 5), tuple(range(1, 10)))


def log_ticks(low: float, high: float, size: float) -> list[float]:
    """Tick positions (log10 of the values) for an axis from `low` to `high` (log10 too)
    that is `size` pixels long, no two closer than MIN_GAP_PX."""
    span = max(high - low, 1e-12)
    need = MIN_GAP_PX * span / max(size, 1.0)  # the least gap, in decades
    best: list[float] = []
    for mantissas in MANTISSAS:
        ticks = [d + math.log10(m) for d in range(math.floor(low), math.ceil(high) + 1)
                 for m in mantissas]
        ticks = [t for t in ticks if low <= t <= high]
        if _closest(ticks) < need:
            break
        best = ticks
    if not best and need > 1:  # even decades crowd the axis: every k-th decade
        k = math.ceil(need)
        best = [float(d) for d in range(math.ceil(low), math.floor(high) + 1) if d % k == 0]
    if len(best) >= 2:
        return best
    return _round_ticks(10 ** low, 10 ** high, need)


def _closest(ticks: list[float]) -> float:
    return min((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=math.inf)


def _round_ticks(low: float, high: float, need: float) -> list[float]:
    """Multiples of a round step (1, 2 or 5 times a power of ten) between `low` and `high`,
    as log10 values: the finest step whose ticks keep `need` decades apart."""
    step = 10 ** math.floor(math.log10(max(high - low, 1e-300)) - 1)
    for _ in range(40):
        for factor in (1, 2, 5):
            size = step * factor
            values = [k * size for k in range(math.ceil(low / size), math.floor(high / size) + 1)]
            ticks = [math.log10(v) for v in values if v > 0]
            if len(ticks) >= 1 and _closest(ticks) >= need:
                return ticks
        step *= 10
    return [math.log10(low), math.log10(high)] if low > 0 else []


class LossAxis(pg.AxisItem):
    """The loss plot's left axis (`LossAxis("left")`)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 (pyqtgraph)
        return [(None, log_ticks(minVal, maxVal, size))]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [f"{10 ** v * scale:.3g}" for v in values]
