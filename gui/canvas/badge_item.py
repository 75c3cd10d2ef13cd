"""The red, amber or blue badge on a node's corner; its tooltip lists the problems."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from composer.analysis.diagnostics import Diagnostic
from gui import theme
from gui.canvas.style import readable_on, style

RADIUS = 8.5
_RANK = {"error": 0, "warning": 1, "hint": 2}


class BadgeItem(QGraphicsItem):
    """Shows the worst severity among a node's diagnostics and how many there are."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.severity = "hint"
        self.count = 0
        self.messages: list[str] = []
        self.setZValue(3)
        self.setAcceptHoverEvents(True)
        self.hide()

    def boundingRect(self) -> QRectF:
        return QRectF(-RADIUS - 2, -RADIUS - 2, 2 * RADIUS + 4, 2 * RADIUS + 4)

    def set_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        """Shows the badge for these diagnostics, or hides it when there are none."""
        if not diagnostics:
            self.messages = []
            self.hide()
            return
        ordered = sorted(diagnostics, key=lambda d: _RANK.get(d.severity, 3))
        self.severity = ordered[0].severity
        self.count = len(ordered)
        self.messages = [_describe(d) for d in ordered]
        self.setToolTip("\n".join(self.messages))
        self.show()
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        color = theme.severity_color(self.severity)
        painter.setPen(QPen(style().background, 2.0))
        painter.setBrush(color)
        painter.drawEllipse(QPointF(0, 0), RADIUS, RADIUS)
        painter.setPen(readable_on(color))
        painter.setFont(style().badge_font)
        mark = "i" if self.severity == "hint" else "!"
        text = mark if self.count == 1 else str(min(self.count, 9))
        painter.drawText(QRectF(-RADIUS, -RADIUS, 2 * RADIUS, 2 * RADIUS),
                         Qt.AlignmentFlag.AlignCenter, text)


def _describe(d: Diagnostic) -> str:
    where = f"{d.port}: " if d.port else (f"{d.param}: " if d.param else "")
    return f"{d.severity.capitalize()} \u2014 {where}{d.message}"
