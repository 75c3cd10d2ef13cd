"""The canvas scene: one item per node, edge and group of the document's graph.

It rebuilds when the document loads another graph, follows the graph's events one by one
otherwise (an edit touches only the items it concerns), and shows the latest analysis (shapes,
kinds, parameter counts, badges) when the document says it is fresh. Items move live while the
user drags; the document hears of the move once, at the end of the drag.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from composer.graph import Edge
from composer.networks import PREFIX
from gui.canvas import style as canvas_style
from gui.canvas.analysis_display import by_node, show_analysis
from gui.canvas.bubble import Bubble
from gui.canvas.edge_item import EdgeItem
from gui.canvas.group_item import GroupItem
from gui.canvas.halos import Halos
from gui.canvas.layout import missing_positions
from gui.canvas.node_item import NodeItem
from gui.canvas.port_item import PortItem
from gui.canvas.wire_drag import WireDrag

BUBBLE_MS = 3500
PORTS_MIN_ZOOM = 0.2


class CanvasScene(QGraphicsScene):
    """The document's graph as items. Built with `CanvasScene(document)`."""

    node_selection_changed = Signal(list)
    wire_dropped = Signal(object, QPointF)  # a wire let go on empty canvas: (port, where)

    def __init__(self, document: Any, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[Edge, EdgeItem] = {}
        self.halos = Halos(self, self._nodes.get)
        self._flush_timer = QTimer(self, singleShot=True, interval=0)
        self._flush_timer.timeout.connect(self.flush_groups)
        self._graph = None
        self._wire: WireDrag | None = None
        self._press_positions: dict[str, QPointF] = {}
        self._quiet_selection = False
        self._ports_shown = True
        self.bubble = Bubble()
        self._bubble_timer = QTimer(self, singleShot=True, interval=BUBBLE_MS)
        self._bubble_timer.timeout.connect(self.bubble.hide)
        self.selectionChanged.connect(self._selection_changed)
        document.graph_replaced.connect(self.rebuild)
        document.level_changed.connect(self.rebuild)
        document.network_edited.connect(self._network_edited)
        document.analysed.connect(self.apply_analysis)
        document.read_only_changed.connect(self._read_only_changed)
        self.rebuild()

    # --- queries -----------------------------------------------------------------------
    def node_item(self, node_id: str) -> NodeItem | None:
        return self._nodes.get(node_id)

    def node_items(self) -> list[NodeItem]:
        return list(self._nodes.values())

    def edge_item(self, edge: Edge) -> EdgeItem | None:
        return self._edges.get(edge)

    def edge_items(self) -> list[EdgeItem]:
        return list(self._edges.values())

    def group_item(self, group_id: str) -> GroupItem | None:
        return self.halos.items.get(group_id)

    def edge_into(self, node_id: str, port: str) -> EdgeItem | None:
        edge = self._graph.edge_into(node_id, port)
        return self._edges.get(edge) if edge is not None else None

    def selected_node_ids(self) -> list[str]:
        """Selected nodes in the graph's file order (deterministic for copy and groups)."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self._graph.nodes if n in chosen]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def nodes_rect(self) -> QRectF:
        """The rectangle around every node and halo (not the bubble or a wire preview)."""
        rect = QRectF()
        for item in self._nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        for group in self.halos.items.values():
            rect = rect.united(group.sceneBoundingRect())
        return rect

    def visible_rect(self) -> QRectF | None:
        views = self.views()
        if not views:
            return None
        view = views[0]
        return view.mapToScene(view.viewport().rect()).boundingRect()

    # --- selection ---------------------------------------------------------------------
    def select_nodes(self, node_ids: list[str]) -> None:
        """Selects exactly these nodes; one selection signal for the lot."""
        self._quiet_selection = True
        try:
            self.clearSelection()
            for node_id in node_ids:
                item = self._nodes.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            self._quiet_selection = False
        self._selection_changed()

    def _selection_changed(self) -> None:
        if not self._quiet_selection:
            self.node_selection_changed.emit(self.selected_node_ids())

    # --- building ----------------------------------------------------------------------
    def rebuild(self) -> None:
        """Drops every item and builds them again from the level the document shows (the
        top of its graph, or a network's inside)."""
        if self._wire is not None:
            self._wire.cancel()
            self._wire = None
        if self._graph is not None:
            self._graph.events.unsub(self._on_graph_event)
        self._quiet_selection = True
        if self.bubble.scene() is self:
            self.removeItem(self.bubble)
        self.clear()
        self._quiet_selection = False
        self._nodes.clear()
        self._edges.clear()
        self.halos.clear()
        self.addItem(self.bubble)
        self.bubble.hide()
        graph = self._graph = self.document.level
        graph.events.sub(self._on_graph_event)
        placed = missing_positions(graph)
        for node in graph.nodes.values():
            self._add_node(node, placed.get(node.id))
        for edge in graph.edges:
            self._add_edge(edge)
        self.halos.rebuild(graph)
        self._read_only_changed(getattr(self.document, "read_only", False))
        if getattr(self.document, "shapes", None) is not None:
            self.apply_analysis()
        self.node_selection_changed.emit([])

    def _add_node(self, node, fallback=None) -> NodeItem:
        item = NodeItem(self._graph, node)
        pos = node.ui.get("pos") if isinstance(node.ui, dict) else None
        if pos is None:
            pos = fallback or missing_positions(self._graph).get(node.id, (0.0, 0.0))
        item.setPos(float(pos[0]), float(pos[1]))
        if getattr(self.document, "read_only", False):
            item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, False)
        if not self._ports_shown:
            item.set_ports_visible(False)
        self.addItem(item)
        self._nodes[node.id] = item
        return item

    def _add_edge(self, edge: Edge) -> None:
        src, dst = self._nodes.get(edge.src), self._nodes.get(edge.dst)
        if src is None or dst is None or edge in self._edges:
            return
        item = EdgeItem(edge, src, dst)
        source = src.port(edge.src_port, True)
        if source is not None:
            item.set_kind(source.kind)
        self.addItem(item)
        self._edges[edge] = item
        self._refresh_connected(src)
        self._refresh_connected(dst)

    def _remove_edge(self, edge: Edge) -> None:
        item = self._edges.pop(edge, None)
        if item is None:
            return
        item.detach()
        self.removeItem(item)
        self._refresh_connected(item.src)
        self._refresh_connected(item.dst)

    @staticmethod
    def _refresh_connected(item: NodeItem) -> None:
        wired_in = {e.edge.dst_port for e in item.edges if e.dst is item}
        wired_out = {e.edge.src_port for e in item.edges if e.src is item}
        for name, port in item.inputs.items():
            port.set_connected(name in wired_in)
        for name, port in item.outputs.items():
            port.set_connected(name in wired_out)

    # --- following the graph -----------------------------------------------------------
    def _on_graph_event(self, name: str, **payload: Any) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(**payload)
        if name in ("node_added", "node_removed", "node_changed", "edge_added",
                    "edge_removed"):
            self.halos.wiring_changed()
        self._flush_timer.start()  # one halo update for all the events of one edit

    def _on_node_added(self, node) -> None:
        self._add_node(node)

    def _on_node_removed(self, node) -> None:
        item = self._nodes.pop(node.id, None)
        if item is None:
            return
        for edge in [e.edge for e in item.edges]:
            self._remove_edge(edge)
        self.removeItem(item)

    def _on_node_changed(self, node, what: str = "") -> None:
        item = self._nodes.get(node.id)
        if item is None:
            return
        item.rebuild(self._graph, node)
        item.set_ports_visible(self._ports_shown)
        for edge in item.edges:
            edge.update_path()
            edge.update()
        self._refresh_connected(item)
        self.halos.node_moved(node.id)  # its height may have changed

    def _on_node_moved(self, node) -> None:
        item = self._nodes.get(node.id)
        pos = node.ui.get("pos")
        if item is not None and pos is not None:
            if (item.pos().x(), item.pos().y()) != (pos[0], pos[1]):
                item.setPos(pos[0], pos[1])

    def _on_edge_added(self, edge) -> None:
        self._add_edge(edge)

    def _on_edge_removed(self, edge) -> None:
        self._remove_edge(edge)

    def _on_group_added(self, group) -> None:
        self.halos.rebuild(self._graph)
        self.halos.show_diagnostics(by_node(self.document.level_diagnostics))

    _on_group_removed = _on_group_added
    _on_group_changed = _on_group_added

    def _on_group_renamed(self, group, old: str) -> None:
        self._on_group_added(group)

    def _network_edited(self, name: str) -> None:
        """A network's inside or ports changed: its instances here show it (ports, summary),
        and, when this is its inside, the nodes whose ports are its ports."""
        network = self._graph.networks.get(name)
        inside = network is not None and network.graph is self._graph
        for node in self._graph.nodes.values():
            if inside or node.type == f"{PREFIX}{name}":
                self._on_node_changed(node)

    def node_moved_live(self, item: NodeItem) -> None:
        """A node item moved (drag or undo): its halos follow at the next flush."""
        self.halos.node_moved(item.node_id)

    def flush_groups(self) -> None:
        """Brings the halos up to date with the nodes' positions (and the wiring)."""
        self._flush_timer.stop()
        self.halos.flush()

    # --- analysis ----------------------------------------------------------------------
    def apply_analysis(self) -> None:
        """Shapes, kinds, parameter counts and badges from the document's latest analysis."""
        table = show_analysis(self._nodes.values(), self._edges.values(), self._graph,
                              self.document.shapes, self.document.level_diagnostics)
        self.halos.show_diagnostics(table)

    # --- theme and state ---------------------------------------------------------------
    def apply_theme(self) -> None:
        """Re-reads gui.theme (after `theme.set_dark`) and repaints everything."""
        canvas_style.refresh()
        for item in self._nodes.values():
            item.refresh_texts()
            for port in [*item.inputs.values(), *item.outputs.values()]:
                port.set_kind(port.kind)
                port.update()
        for edge in self._edges.values():
            edge.restyle()
        for view in self.views():
            view.resetCachedContent()
        self.update()

    def zoom_changed(self, zoom: float) -> None:
        """Hides the port items when they would be specks: fewer items to paint, and no
        wire can be started at that scale anyway."""
        shown = zoom >= PORTS_MIN_ZOOM
        if shown != self._ports_shown:
            self._ports_shown = shown
            for item in self._nodes.values():
                item.set_ports_visible(shown)

    def _read_only_changed(self, read_only: bool) -> None:
        for item in self._nodes.values():
            item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, not read_only)
        for view in self.views():
            view.viewport().update()

    def show_refusal(self, reason: str, pos: QPointF) -> None:
        """Shows why a wire was refused, beside the cursor, for a few seconds."""
        self.bubble.show_text(reason, pos)
        self._bubble_timer.start()

    # --- mouse: wiring and the end of a drag --------------------------------------------
    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
            if isinstance(item, NodeItem):
                return None
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._wire is None:
            port = self._port_at(event.scenePos())
            if port is not None:
                if getattr(self.document, "read_only", False):
                    self.show_refusal("Training: the graph is read-only", event.scenePos())
                else:
                    self._wire = WireDrag(self, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_positions = {i.node_id: i.pos() for i in self.selectedItems()
                                     if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._wire is not None:
            self._wire.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)
        self.flush_groups()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._wire is not None and event.button() == Qt.MouseButton.LeftButton:
            wire, self._wire = self._wire, None
            wire.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._press_positions:
            self._finish_drag()

    def _finish_drag(self) -> None:
        moves = {}
        for node_id, before in self._press_positions.items():
            item = self._nodes.get(node_id)
            if item is not None and item.pos() != before:
                moves[node_id] = (item.pos().x(), item.pos().y())
        self._press_positions = {}
        if moves:
            self.document.move_nodes(moves)

    @property
    def wiring(self) -> bool:
        """True while a wire is being dragged."""
        return self._wire is not None

    def cancel_wire(self) -> bool:
        """Drops a wire being dragged (Escape); True when there was one."""
        if self._wire is None:
            return False
        self._wire.cancel()
        self._wire = None
        return True
