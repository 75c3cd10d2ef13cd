"""A short message drawn beside the cursor: why a wire was refused.

It ignores the view's zoom so it reads the same at any scale, and fades after a few seconds.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from gui import theme
from gui.canvas.style import faded, readable_on, style

MAX_WIDTH = 320.0
PAD = 8.0


class Bubble(QGraphicsItem):
    """A rounded label in the error colour, offset from the point it is shown at."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self._rect = QRectF()
        self._text_rect = QRectF()
        self.setZValue(100)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.hide()

    def show_text(self, text: str, scene_pos: QPointF) -> None:
        fm = QFontMetricsF(style().port_font)
        flags = int(Qt.TextFlag.TextWordWrap)
        bounds = fm.boundingRect(QRectF(0, 0, MAX_WIDTH, 1000), flags, text)
        self.prepareGeometryChange()
        self.text = text
        self._text_rect = QRectF(14 + PAD, 14 + PAD, bounds.width() + 1, bounds.height())
        self._rect = self._text_rect.adjusted(-PAD, -PAD * 0.75, PAD, PAD * 0.75)
        self.setPos(scene_pos)
        self.show()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        color = theme.ERROR_COLOR
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style().shadow)
        painter.drawRoundedRect(self._rect.translated(1, 2), 6, 6)
        painter.setBrush(color)
        painter.setPen(QPen(faded(color.darker(130), 0.9), 1))
        painter.drawRoundedRect(self._rect, 6, 6)
        painter.setPen(readable_on(color))
        painter.setFont(style().port_font)
        painter.drawText(self._text_rect, int(Qt.TextFlag.TextWordWrap), self.text)
