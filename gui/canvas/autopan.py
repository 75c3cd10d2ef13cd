"""Scrolling the canvas while something is dragged against the view's edge.

Dragging a node, a wire or a rubber band to the edge keeps the canvas moving under the cursor,
faster the closer to the edge, so a wire can reach a node that is out of sight. Each step
scrolls and then replays the last mouse move, so the dragged thing follows the canvas.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsView

EDGE = 28  # pixels from the edge where scrolling starts
SPEED = 22.0  # pixels per step at the very edge
STEP_MS = 16


class EdgeScroller:
    """Owned by a view; `track` on every drag move, `stop` on release."""

    def __init__(self, view: QGraphicsView) -> None:
        self.view = view
        self.push = QPoint()
        self.last = QPoint()
        self._buttons = Qt.MouseButton.NoButton
        self._timer = QTimer(view, interval=STEP_MS)
        self._timer.timeout.connect(self._step)

    def _axis(self, at: int, size: int) -> int:
        if at < EDGE:
            return -round(SPEED * (EDGE - max(at, 0)) / EDGE)
        if at > size - EDGE:
            return round(SPEED * (at - (size - EDGE)) / EDGE) if at <= size else round(SPEED)
        return 0

    def track(self, pos: QPoint, buttons: Qt.MouseButton, dragging: bool) -> None:
        """Notes the cursor; scrolls while it is near an edge during a drag."""
        self.last, self._buttons = pos, buttons
        rect = self.view.viewport().rect()
        self.push = QPoint(self._axis(pos.x(), rect.width()), self._axis(pos.y(), rect.height()))
        if dragging and not self.push.isNull():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()
        self.push = QPoint()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def _step(self) -> None:
        view = self.view
        view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + self.push.x())
        view.verticalScrollBar().setValue(view.verticalScrollBar().value() + self.push.y())
        viewport = view.viewport()
        move = QMouseEvent(QEvent.Type.MouseMove, QPointF(self.last),
                           QPointF(viewport.mapToGlobal(self.last)), Qt.MouseButton.NoButton,
                           self._buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, move)
