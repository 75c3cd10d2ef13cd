"""Curved wires: the edges of the graph and the preview drawn while wiring.

An edge keeps its path and recomputes it only when one of its two nodes moves; its hit area
(a stroke a few pixels wide) is built lazily, when Qt first asks for it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from composer.graph import Edge
from gui import theme
from gui.canvas.hover import HoverHighlight
from gui.canvas.node_item import NodeItem
from gui.canvas.style import faded, style

HIT_WIDTH = 12.0


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A cubic from an output (leaving rightwards) to an input (arriving from the left).

    The handles grow with the distance, and more so when the input lies behind the output,
    so a backward wire makes a readable S instead of folding over the nodes.
    """
    dx = end.x() - start.x()
    dy = abs(end.y() - start.y())
    reach = max(40.0, abs(dx) * 0.5, min(dy * 0.5, 120.0)) if dx >= 0 else \
        max(80.0, min(abs(dx) * 0.6 + dy * 0.25, 260.0))
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


class EdgeItem(HoverHighlight, QGraphicsItem):
    """One `composer.graph.Edge`, drawn between the anchors of its two ports."""

    def __init__(self, edge: Edge, src: NodeItem, dst: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.src = src
        self.dst = dst
        self.kind = "tensor"
        self._color = theme.kind_color(self.kind)
        self._path = QPainterPath()
        self._hit: QPainterPath | None = None
        self._rect = QRectF()
        self._hovered = False
        self._pen: QPen | None = None  # built once, not per frame
        self.stale = False
        self.setZValue(-1)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setToolTip(str(edge))
        src.edges.append(self)
        dst.edges.append(self)
        self.update_path()

    def detach(self) -> None:
        """Forgets the two nodes (before the item leaves the scene)."""
        for node in (self.src, self.dst):
            if self in node.edges:
                node.edges.remove(self)

    def _is_stale(self) -> bool:
        """True when a port it names no longer exists (a merge lost inputs)."""
        return (self.src.port(self.edge.src_port, True) is None
                or self.dst.port(self.edge.dst_port, False) is None)

    def set_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._color = theme.kind_color(kind)
            self._pen = None
            self.update()

    def update_path(self) -> None:
        """Follows the two ports; called when either node moves or changes its ports."""
        start = self.src.anchor(self.edge.src_port, True)
        end = self.dst.anchor(self.edge.dst_port, False)
        self.prepareGeometryChange()
        self._path = wire_path(start, end)
        self._hit = None
        stale = self._is_stale()
        if stale != self.stale:
            self.stale = stale
            self._pen = None
        pad = HIT_WIDTH / 2 + 2
        self._rect = self._path.controlPointRect().adjusted(-pad, -pad, pad, pad)

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        if self._hit is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(HIT_WIDTH)
            self._hit = stroker.createStroke(self._path)
        return self._hit

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self._pen is None:
            self._pen = self._make_pen(self._color, style().edge_width)
        hot = self._hovered or self.src.isSelected() or self.dst.isSelected()
        if not hot and not self.isSelected():  # the common case: nothing to build
            painter.setPen(self._pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self._path)
            return
        s = style()
        width = s.edge_width
        color = self._color
        if self.isSelected():
            painter.setPen(QPen(faded(s.selection, 0.45), width + 5, Qt.PenStyle.SolidLine,
                                Qt.PenCapStyle.RoundCap))
            painter.drawPath(self._path)
        elif self._hovered or self.src.isSelected() or self.dst.isSelected():
            width += 1.2
            color = color.lighter(115) if not s.dark else color.lighter(130)
        painter.setPen(self._make_pen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)

    def _make_pen(self, color: QColor, width: float) -> QPen:
        """Solid in the kind's colour; dashed red for a wire whose port is gone."""
        if self.stale:
            return QPen(QColor(theme.ERROR_COLOR), width, Qt.PenStyle.DashLine,
                        Qt.PenCapStyle.RoundCap)
        return QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)

    def restyle(self) -> None:
        """Forgets the pen built for the previous palette."""
        self._pen = None
        self.update()


class WirePreview(QGraphicsItem):
    """The wire following the cursor while the user drags from a port."""

    def __init__(self, color: QColor) -> None:
        super().__init__()
        self._color = QColor(color)
        self._path = QPainterPath()
        self._rect = QRectF()
        self.snapped = False
        self.setZValue(5)

    def set_ends(self, start: QPointF, end: QPointF, snapped: bool) -> None:
        """Start is always the output side, end the input side."""
        self.prepareGeometryChange()
        self.snapped = snapped
        self._path = wire_path(start, end)
        self._rect = self._path.controlPointRect().adjusted(-6, -6, 6, 6)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        pen_style = Qt.PenStyle.SolidLine if self.snapped else Qt.PenStyle.DashLine
        painter.setPen(QPen(self._color, style().edge_width + 0.6, pen_style,
                            Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
