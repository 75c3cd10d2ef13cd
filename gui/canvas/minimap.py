"""An overview of the whole graph with the visible part outlined; click or drag to go there.

It draws nodes as blocks in their category colour and halos as tinted frames, not the scene
itself, so repainting it costs little; repaints are coalesced to a few per second.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme
from gui.canvas.style import faded, style

REFRESH_MS = 120


class Minimap(QWidget):
    """Built with `Minimap(view)`; the main window places it in a corner or a dock. Floating
    over its view (`parent=view`), it is translucent, and the view's fit keeps the graph clear
    of it."""

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        if parent is view:
            view.overlay = self
        self.setMinimumSize(120, 80)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.update)
        view.scene().changed.connect(self._schedule)
        view.horizontalScrollBar().valueChanged.connect(self._schedule)
        view.verticalScrollBar().valueChanged.connect(self._schedule)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(176, 112)

    def _schedule(self, *args) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _world(self) -> QRectF:
        nodes = self.view.scene().nodes_rect()
        return (nodes if not nodes.isNull() else self._visible()).adjusted(-60, -60, 60, 60)

    def _visible(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def _mapping(self) -> tuple[float, QPointF, QRectF]:
        """Scale and offset from scene to widget, keeping the aspect ratio."""
        world = self._world()
        box = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        scale = min(box.width() / max(world.width(), 1.0), box.height() / max(world.height(), 1.0))
        offset = QPointF(box.center().x() - world.center().x() * scale,
                         box.center().y() - world.center().y() * scale)
        return scale, offset, world

    def to_scene(self, point: QPointF) -> QPointF:
        scale, offset, _ = self._mapping()
        return (point - offset) / scale

    def paintEvent(self, event) -> None:  # noqa: N802
        s = style()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        panel = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(faded(s.text, 0.25), 1.0))
        painter.setBrush(faded(s.background.darker(106) if not s.dark else
                               s.background.lighter(125), 0.72))
        painter.drawRoundedRect(panel, 6, 6)
        painter.setClipRect(panel.adjusted(1, 1, -1, -1))
        scale, offset, _ = self._mapping()
        painter.translate(offset)
        painter.scale(scale, scale)
        self._paint_contents(painter, s)
        painter.setPen(QPen(QColor(s.selection), 1.5 / scale))
        painter.setBrush(faded(s.selection, 0.06))
        painter.drawRect(self._visible())
        painter.end()

    def _paint_contents(self, painter: QPainter, s) -> None:
        scene = self.view.scene()
        painter.setPen(Qt.PenStyle.NoPen)
        for group in (scene.group_item(g.id) for g in scene.document.graph.groups):
            if group is not None:
                painter.setBrush(faded(group.color, 0.25))
                for frame in group.frames():
                    painter.drawRoundedRect(frame, 14, 14)
        for item in scene.node_items():
            color = s.selection if item.isSelected() else theme.category_color(item.category)
            painter.fillRect(QRectF(item.pos().x(), item.pos().y(), item.width, item.height),
                             faded(color, 0.85))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.view.centerOn(self.to_scene(event.position()))
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.to_scene(event.position()))
            self.update()
