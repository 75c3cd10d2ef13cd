"""A port: a dot on a node's edge, coloured by what flows through it, easy to grab.

The hit area is larger than the dot so a wire can be started without pixel hunting. While a wire
is being dragged every port is told whether it could take it: compatible ones glow, the others
fade, so a wrong wire looks wrong before it is dropped.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from composer.catalogue.base import Port
from gui import theme
from gui.canvas.hover import HoverHighlight
from gui.canvas.metrics import PORT_HIT, PORT_RADIUS
from gui.canvas.style import faded, style

# What a port shows while a wire is being dragged.
IDLE, TARGET, REFUSED, SOURCE = "idle", "target", "refused", "source"


class PortItem(HoverHighlight, QGraphicsItem):
    """One input or output of a node; a child of the node item."""

    def __init__(self, node_item: QGraphicsItem, port: Port, output: bool, index: int) -> None:
        super().__init__(node_item)
        self.node_item = node_item
        self.port = port
        self.output = output
        self.index = index
        self.kind = port.kind if port.kind != "same" else "tensor"
        self.connected = False
        self.problem: str | None = None  # a diagnostic about this very port
        self.wire_state = IDLE
        self._hovered = False
        self._color = theme.kind_color(self.kind)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # a blit per frame
        self._update_tooltip()

    @property
    def name(self) -> str:
        return self.port.name

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    def boundingRect(self) -> QRectF:
        return QRectF(-PORT_HIT, -PORT_HIT, 2 * PORT_HIT, 2 * PORT_HIT)

    def set_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._color = theme.kind_color(kind)
            self._update_tooltip()
            self.update()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.update()

    def set_problem(self, message: str | None) -> None:
        if message != self.problem:
            self.problem = message
            self._update_tooltip()
            self.update()

    def set_wire_state(self, state: str) -> None:
        if state != self.wire_state:
            self.wire_state = state
            self.update()

    def _update_tooltip(self) -> None:
        side = "output" if self.output else "input"
        lines = [f"{self.name} ({side}, {self.kind})"]
        if self.port.optional:
            lines[0] = lines[0][:-1] + ", optional)"
        if self.port.doc:
            lines.append(self.port.doc)
        if self.problem:
            lines.append(self.problem)
        self.setToolTip("\n".join(lines))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        s = style()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.2:
            return
        color = self._color
        radius = PORT_RADIUS
        if self.wire_state == REFUSED:
            color = faded(color, 0.25)
        elif self.wire_state in (TARGET, SOURCE) or self._hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(faded(self._color, 0.3))
            painter.drawEllipse(QPointF(0, 0), radius + 4.5, radius + 4.5)
            radius += 1.0
        outline = QColor(theme.ERROR_COLOR) if self.problem else color.darker(135)
        painter.setPen(QPen(outline, 2.0 if self.problem else 1.2))
        filled = self.connected or self.wire_state in (TARGET, SOURCE) or self._hovered
        if filled:
            painter.setBrush(color)
        else:
            painter.setBrush(s.body)
            painter.setPen(QPen(QColor(theme.ERROR_COLOR) if self.problem else color,
                                2.0 if not self.port.optional else 1.4,
                                Qt.PenStyle.SolidLine if not self.port.optional
                                else Qt.PenStyle.DotLine))
        painter.drawEllipse(QPointF(0, 0), radius, radius)
