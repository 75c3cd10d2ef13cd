"""The background grid: fine lines every 20 units, strong ones every 100.

Fine lines fade out when zoomed out (they would turn the canvas grey), so the grid stays a
quiet guide at every scale. The view caches the result between scrolls.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QPainter

from gui.canvas.style import style

MINOR = 20.0
MAJOR = 100.0


def _lines(rect: QRectF, step: float) -> list[QLineF]:
    left = math.floor(rect.left() / step) * step
    top = math.floor(rect.top() / step) * step
    lines = []
    x = left
    while x <= rect.right():
        lines.append(QLineF(x, rect.top(), x, rect.bottom()))
        x += step
    y = top
    while y <= rect.bottom():
        lines.append(QLineF(rect.left(), y, rect.right(), y))
        y += step
    return lines


def draw_grid(painter: QPainter, rect: QRectF, zoom: float) -> None:
    s = style()
    painter.fillRect(rect, s.background)
    if zoom * MINOR >= 10:
        painter.setPen(s.grid_minor)
        painter.drawLines(_lines(rect, MINOR))
    if zoom * MAJOR >= 12:
        painter.setPen(s.grid_major)
        painter.drawLines(_lines(rect, MAJOR))
