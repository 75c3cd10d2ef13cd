"""A node's face in large print, for the zoom a whole sample is fitted at (about 0.3 to 0.65).

At that zoom the detailed face's 7-10 px fonts shrink to specks, so the node shows less, larger:
its title (wrapped onto two lines when it must), the inferred shape of each output, and as many
key parameters as its height leaves room for. Texts are measured here, when they change, never
while painting.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter

from gui.canvas.metrics import HEADER_H

_ELIDE = Qt.TextElideMode.ElideRight
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter

INSET = 10.0
TITLE_LINE = 22.0
SHAPE_ROW = 25.0
PARAM_ROW = 22.0
BOTTOM = 5.0


@dataclass(frozen=True)
class Summary:
    """What the large-print face writes, already elided to fit."""

    title: tuple[str, ...]  # one or two lines
    shapes: tuple[tuple[str, str], ...]  # (port name or "", shape)
    params: tuple[tuple[str, str], ...]  # (name, value)

    @property
    def band(self) -> float:
        """Height of the coloured title band."""
        return HEADER_H if len(self.title) < 2 else 2 * TITLE_LINE + 12


def _wrap(text: str, fm: QFontMetricsF, room: float) -> tuple[str, ...]:
    """One line if it fits, else the most words that fit on the first and the rest (elided)
    on the second."""
    if fm.horizontalAdvance(text) <= room:
        return (text,)
    words = text.split(" ")
    for cut in range(len(words) - 1, 0, -1):
        first = " ".join(words[:cut])
        if fm.horizontalAdvance(first) <= room:
            return first, fm.elidedText(" ".join(words[cut:]), _ELIDE, room)
    return (fm.elidedText(text, _ELIDE, room),)


def build(s, width: float, height: float, title: str, outputs: list[tuple[str, str]],
          params: tuple[tuple[str, str], ...]) -> Summary:
    """The large-print texts of a node `width` x `height`; `outputs` are (shown port name or
    "", shape) for the outputs that have an inferred shape."""
    room = width - 2 * INSET
    lines = _wrap(title, QFontMetricsF(s.summary_title_font), room)
    top = Summary(lines, (), ()).band + BOTTOM
    shape_fm, name_fm = QFontMetricsF(s.summary_shape_font), QFontMetricsF(s.summary_font)
    shapes = []
    for name, shape in outputs:
        if top + SHAPE_ROW > height - BOTTOM:
            break
        name_w = name_fm.horizontalAdvance(name) + 8 if name else 0.0
        shapes.append((name, shape_fm.elidedText(shape, _ELIDE, room - name_w)))
        top += SHAPE_ROW
    shown = []
    for name, value in params:
        if top + PARAM_ROW > height - BOTTOM:
            break
        value = name_fm.elidedText(value, _ELIDE, room * 0.45)
        name = name_fm.elidedText(name, _ELIDE, room - name_fm.horizontalAdvance(value) - 8)
        shown.append((name, value))
        top += PARAM_ROW
    return Summary(lines, tuple(shapes), tuple(shown))


def paint(painter: QPainter, s, summary: Summary, width: float, ink) -> None:
    """Draws the texts over a node whose body and title band (`summary.band` high) are
    already painted; `ink` is the colour that reads on the band."""
    room = width - 2 * INSET
    painter.setPen(ink)
    painter.setFont(s.summary_title_font)
    band = summary.band
    y = (band - TITLE_LINE * len(summary.title)) / 2
    for line in summary.title:
        painter.drawText(QRectF(INSET, y, room, TITLE_LINE), _LEFT, line)
        y += TITLE_LINE
    y = band + BOTTOM
    for name, shape in summary.shapes:
        row = QRectF(INSET, y, room, SHAPE_ROW)
        if name:
            painter.setFont(s.summary_font)
            painter.setPen(s.dim_text)
            painter.drawText(row, _LEFT, name)
        painter.setFont(s.summary_shape_font)
        painter.setPen(s.shape_text)
        painter.drawText(row, _RIGHT if name else _CENTER, shape)
        y += SHAPE_ROW
    painter.setFont(s.summary_font)
    for name, value in summary.params:
        row = QRectF(INSET, y, room, PARAM_ROW)
        painter.setPen(s.dim_text)
        painter.drawText(row, _LEFT, name)
        painter.setPen(s.text)
        painter.drawText(row, _RIGHT, value)
        y += PARAM_ROW
