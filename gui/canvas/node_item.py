"""A node on the canvas: category header, ports, key parameters, shapes, badges.

Painting is cached per item (DeviceCoordinateCache), so dragging a node only blits a pixmap;
the cache is redrawn when what the node shows changes (parameters, shapes, selection, hover).
Texts are measured and elided once in `rebuild`, never in `paint`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from composer.analysis.diagnostics import Diagnostic
from composer.graph import Graph, Node
from gui import theme
from gui.canvas import summary
from gui.canvas.badge_item import BadgeItem
from gui.canvas.hover import HoverHighlight
from gui.canvas.metrics import (
    CORNER,
    HEADER_H,
    NODE_WIDTH,
    PARAM_ROW_H,
    PORT_ROW_H,
    QUIET_PORT_NAMES,
    TEXT_INSET,
    NodeFace,
    format_count,
    node_face,
)
from gui.canvas.port_item import PortItem
from gui.canvas.style import readable_on, style

if TYPE_CHECKING:
    from gui.canvas.edge_item import EdgeItem

_ELIDE = Qt.TextElideMode.ElideRight
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter


EXPOSED = "\u25b8"  # marks a port of the network a node is inside
OVERVIEW_LOD = 0.2  # below: coloured blocks only
DETAIL_LOD = 0.66  # below: the large-print face (title, shapes, key parameters)
_HEADERS: dict[tuple[float, float], QPainterPath] = {}


def _header_path(width: float, height: float = HEADER_H) -> QPainterPath:
    """The header's outline: rounded at the top only. Built once per size."""
    path = _HEADERS.get((width, height))
    if path is None:
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.WindingFill)
        path.addRoundedRect(QRectF(0, 0, width, height), CORNER, CORNER)
        path.addRect(QRectF(0, height - CORNER, width, CORNER))
        path = _HEADERS[(width, height)] = path.simplified()
    return path


def _named(ports: tuple, port) -> bool:
    """A lone "in" or "out" is not written beside its dot: the dot says it all."""
    return len(ports) > 1 or port.name not in QUIET_PORT_NAMES


def _drop(item: QGraphicsItem) -> None:
    """Takes a child item off its node and out of the scene."""
    scene = item.scene()
    item.setParentItem(None)
    if scene is not None:
        scene.removeItem(item)


class NodeItem(HoverHighlight, QGraphicsItem):
    """The view of one `composer.graph.Node`. Position is the node's top-left."""

    def __init__(self, graph: Graph, node: Node) -> None:
        super().__init__()
        self.node_id = node.id
        self.edges: list[EdgeItem] = []
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self.shapes: dict[str, str] = {}  # output port -> "[B,16,8,8]"
        self.param_count: int | None = None
        self.diagnostics: list[Diagnostic] = []
        self._hovered = False
        self._texts: dict[str, object] = {}
        self.face = NodeFace((), (), ())
        self.width, self.height = NODE_WIDTH, 0.0
        flags = (QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                 | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                 | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setFlags(flags)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.badge = BadgeItem(self)
        self.rebuild(graph, node)

    # --- what the node shows -----------------------------------------------------------
    def rebuild(self, graph: Graph, node: Node) -> None:
        """Re-reads the node (type, label, parameters): ports and texts may change."""
        t = graph.type_of(node)
        self.category = t.category if t else "op"
        self.known = t is not None
        self.title = node.label or node.id
        kind = node.type.split(".", 1)[-1] if t else node.type  # the palette's name for it
        self.subtitle = kind if not node.label else f"{node.id} \u00b7 {kind}"
        self.glyph = (t.glyph if t and t.glyph else theme.CATEGORY_GLYPHS.get(self.category, ""))
        self.setToolTip(f"{node.type}: {t.summary}" if t else f"unknown node type {node.type!r}")
        face = node_face(graph, node)
        self.prepareGeometryChange()
        self.face = face
        self.height = face.height
        self._rebuild_ports()
        self.badge.setPos(self.width - 4, 0)
        self.refresh_texts()

    def _rebuild_ports(self) -> None:
        """Port items for the face's ports; an unchanged port keeps its item (and state)."""
        old = {(p.output, name): p for table in (self.inputs, self.outputs)
               for name, p in table.items()}
        self.inputs, self.outputs = {}, {}
        for output, ports, table in ((False, self.face.inputs, self.inputs),
                                     (True, self.face.outputs, self.outputs)):
            for i, port in enumerate(ports):
                item = old.pop((output, port.name), None)
                if item is None or item.port != port:
                    if item is not None:
                        _drop(item)
                    item = PortItem(self, port, output, i)
                item.index = i
                item.setPos(self.width if output else 0.0, self.face.port_y(i))
                table[port.name] = item
        for item in old.values():
            _drop(item)

    def set_ports_visible(self, visible: bool) -> None:
        for port in [*self.inputs.values(), *self.outputs.values()]:
            port.setVisible(visible)

    def set_analysis(self, shapes: dict[str, str], param_count: int | None,
                     diagnostics: list[Diagnostic]) -> None:
        """Shows inferred shapes, the parameter count and problems; repaints only on change."""
        self.badge.set_diagnostics(diagnostics)
        self.diagnostics = diagnostics
        by_port = {d.port: d.message for d in diagnostics if d.port and d.severity == "error"}
        for name, port in self.inputs.items():
            port.set_problem(by_port.get(name))
        if shapes != self.shapes or param_count != self.param_count:
            self.shapes, self.param_count = shapes, param_count
            self.refresh_texts()
        else:
            self.update()

    @property
    def has_error(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def refresh_texts(self) -> None:
        """Elides every text to the room it has; called when texts or the style change."""
        s = style()
        room = self.width - 2 * TEXT_INSET
        title = QFontMetricsF(s.title_font)
        small = QFontMetricsF(s.type_font)
        count = f"{format_count(self.param_count)} params" if self.param_count else ""
        count_w = small.horizontalAdvance(count) + 8 if count else 0.0
        texts: dict[str, object] = {
            "title": title.elidedText(self.title, _ELIDE, room - 22),
            "subtitle": small.elidedText(self.subtitle, _ELIDE, room - 22 - count_w),
            "count": count,
        }
        outputs = [(port.name if _named(self.face.outputs, port) else "", self.shapes[port.name])
                   for port in self.face.outputs if port.name in self.shapes]
        texts["summary"] = summary.build(s, self.width, self.height, self.title, outputs,
                                         self.face.params)
        texts["ports"] = self._port_texts(room)
        value_fm = QFontMetricsF(s.param_font)
        texts["params"] = [(name, value_fm.elidedText(value, _ELIDE, room * 0.55))
                           for name, value in self.face.params]
        texts["inside"] = value_fm.elidedText(self.face.inside, _ELIDE, room)
        self._texts = texts
        self.update()

    def _port_texts(self, room: float) -> list[tuple]:
        """(rect, text, colour role, alignment) for port names and output shapes. An output's
        shape takes the room its row leaves between the input's name and the output's."""
        s = style()
        port_fm, shape_fm = QFontMetricsF(s.port_font), QFontMetricsF(s.shape_font)
        out: list[tuple] = []
        taken = {}  # row -> where the input's name ends
        exposed = self.face.exposed  # inside a network: its own ports, tagged with a mark
        for i, port in enumerate(self.face.inputs):
            tag = exposed.get((False, port.name))
            if tag or _named(self.face.inputs, port):
                text = port_fm.elidedText(f"{EXPOSED}{tag}" if tag else port.name, _ELIDE,
                                          room / 2)
                width = port_fm.horizontalAdvance(text)
                out.append((self._row(TEXT_INSET, i, width), text,
                            "exposed" if tag else "port", _LEFT))
                taken[i] = TEXT_INSET + width + 8
        for i, port in enumerate(self.face.outputs):
            right = self.width - TEXT_INSET
            tag = exposed.get((True, port.name))
            if tag or _named(self.face.outputs, port):
                text = f"{tag}{EXPOSED}" if tag else port.name
                width = port_fm.horizontalAdvance(text)
                out.append((self._row(right - width, i, width), text,
                            "exposed" if tag else "port", _RIGHT))
                right -= width + 6
            shape = self.shapes.get(port.name)
            if shape:
                left = taken.get(i, TEXT_INSET)
                text = shape_fm.elidedText(shape, _ELIDE, max(0.0, right - left))
                out.append((self._row(left, i, right - left), text, "shape", _RIGHT))
        return out

    def _row(self, x: float, index: int, width: float) -> QRectF:
        return QRectF(x, self.face.port_y(index) - PORT_ROW_H / 2, width, PORT_ROW_H)

    # --- geometry ----------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-3, -3, self.width + 7, self.height + 8)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.width, self.height), CORNER, CORNER)
        return path

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, self.width, self.height)

    def port(self, name: str, output: bool) -> PortItem | None:
        return (self.outputs if output else self.inputs).get(name)

    def anchor(self, name: str, output: bool) -> QPointF:
        """Scene point where a wire to this port attaches; a missing port gets the header's
        edge, so a stale edge still shows where it came from."""
        port = self.port(name, output)
        if port is not None:
            return port.scenePos()
        return self.scenePos() + QPointF(self.width if output else 0.0, HEADER_H / 2)

    def itemChange(self, change, value):  # noqa: N802 (Qt's name)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
            scene = self.scene()
            if scene is not None:  # (node items live only in a CanvasScene)
                scene.node_moved_live(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1 if value else 0)
            for edge in self.edges:  # a selected node's wires stand out
                edge.update()
        return super().itemChange(change, value)

    # --- painting ----------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        s = style()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self.body_rect()
        header = theme.category_color(self.category) if self.known else s.dim_text
        if lod >= OVERVIEW_LOD:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(s.shadow)
            painter.drawRoundedRect(rect.translated(1.5, 2.5), CORNER, CORNER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(s.body)
        painter.drawRoundedRect(rect, CORNER, CORNER)
        large = self._texts["summary"] if lod < DETAIL_LOD else None
        painter.setBrush(header)
        painter.drawPath(_header_path(self.width, large.band if large else HEADER_H))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border_pen(s))
        painter.drawRoundedRect(rect, CORNER, CORNER)
        if large is None:
            self._paint_header(painter, s, header)
            self._paint_body(painter, s)
        elif lod >= OVERVIEW_LOD:  # zoomed out: fewer texts, larger
            summary.paint(painter, s, large, self.width, readable_on(header))

    def _border_pen(self, s):
        if self.isSelected():
            return s.selected_border
        if self._hovered:
            return s.hover_border
        return s.error_border if self.has_error else s.border

    def _paint_header(self, painter: QPainter, s, header) -> None:
        ink = readable_on(header)
        t = self._texts
        painter.setPen(ink)
        painter.setFont(s.group_font)
        painter.drawText(QRectF(6, 4, 22, 18), _CENTER, self.glyph)
        painter.setFont(s.title_font)
        painter.drawText(QRectF(30, 3, self.width - 40, 19), _LEFT, t["title"])
        painter.setFont(s.type_font)
        painter.setOpacity(0.85)
        painter.drawText(QRectF(30, 21, self.width - 40, 15), _LEFT, t["subtitle"])
        if t["count"]:
            painter.drawText(QRectF(30, 21, self.width - 40, 15), _RIGHT, t["count"])
        painter.setOpacity(1.0)

    def _paint_body(self, painter: QPainter, s) -> None:
        for rect, text, role, align in self._texts["ports"]:
            if role == "shape":
                painter.setFont(s.shape_font)
                painter.setPen(s.shape_text)
            elif role == "exposed":
                painter.setFont(s.port_font)
                painter.setPen(theme.category_color("network"))
            else:
                painter.setFont(s.port_font)
                painter.setPen(s.text)
            painter.drawText(rect, align, text)
        params, inside = self._texts["params"], self._texts["inside"]
        if not params and not inside:
            return
        top = self.face.params_top
        painter.setPen(s.separator)
        painter.drawLine(QPointF(8, top - 2), QPointF(self.width - 8, top - 2))
        painter.setFont(s.param_font)
        if inside:  # a network instance: what it holds, on the first row
            painter.setPen(s.dim_text)
            painter.drawText(QRectF(TEXT_INSET, top, self.width - 2 * TEXT_INSET, PARAM_ROW_H),
                             _LEFT, inside)
            top += PARAM_ROW_H
        for i, (name, value) in enumerate(params):
            row = QRectF(TEXT_INSET, top + i * PARAM_ROW_H, self.width - 2 * TEXT_INSET,
                         PARAM_ROW_H)
            painter.setPen(s.dim_text)
            painter.drawText(row, _LEFT, name)
            painter.setPen(s.text)
            painter.drawText(row, _RIGHT, value)
