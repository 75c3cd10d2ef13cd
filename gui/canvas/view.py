"""The canvas view: zoom around the cursor, pan, fit, rubber band, drops and the clipboard.

Mouse: wheel zooms about the cursor; middle drag or space+drag pans; left drag on empty canvas
draws a rubber band; a node or wire dragged to the edge scrolls the canvas; double-click (or
Tab) on empty canvas opens the quick-add search; a right click opens a menu for what is under
the cursor. Keys: Ctrl+= / Ctrl+- / Ctrl+0 zoom, F frames the selection, Home the whole graph,
arrows nudge the selection (Shift: further), Escape drops a wire being dragged. The main
window owns the QActions for copy, paste, duplicate, delete and select-all and calls the
methods here.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPainterPath, QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsView

from composer.errors import ComposerError
from gui.canvas.autopan import EdgeScroller
from gui.canvas.grid import draw_grid
from gui.canvas.metrics import HEADER_H, NODE_WIDTH
from gui.canvas.node_item import NodeItem
from gui.canvas.scene import CanvasScene
from gui.canvas.style import faded, style

NODE_MIME = "application/x-composer-node-type"
CLIPBOARD_MIME = "application/x-composer-nodes"
MIN_ZOOM, MAX_ZOOM = 0.08, 3.0
WORLD = 200_000.0  # the canvas is, for a user, endless
FIT_MARGIN = 32.0  # scene units left around the graph when fitting
FOLLOW_MIN_ZOOM = 0.3  # the whole graph is shown to follow an addition down to this zoom
OVERLAY_GAP = 8.0  # view pixels kept between a fitted graph and a floating overlay
READ_ONLY_TEXT = "Training: the graph is read-only"
_NUDGE = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
          Qt.Key.Key_Down: (0, 1)}


class CanvasView(QGraphicsView):
    """The window onto a CanvasScene. Built with `CanvasView(scene)`."""

    def __init__(self, scene: CanvasScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.document = scene.document
        self._pan_from: QPoint | None = None
        self._space = False
        self.quick_add = None
        self.overlay = None  # a widget floating over the canvas (the minimap): fit avoids it
        self._scroller = EdgeScroller(self)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-WORLD / 2, -WORLD / 2, WORLD, WORLD))
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        scene.wire_dropped.connect(self._wire_dropped)
        self.document.select_requested.connect(self.center_on)
        self.document.read_only_changed.connect(lambda _: self.viewport().update())

    # --- zoom and framing --------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zooms to `factor` (1 = 100 %), keeping `anchor` (a viewport point, by default the
        centre) over the same spot of the canvas."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        ratio = factor / self.zoom()
        if abs(ratio - 1.0) < 1e-9:
            return
        at = (anchor or QPointF(self.viewport().rect().center())).toPoint()
        fixed = self.mapToScene(at)
        self.scale(ratio, ratio)
        drift = self.mapFromScene(fixed) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self.scene().zoom_changed(self.zoom())

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / 1.25)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt's name)
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if delta:
            self.set_zoom(self.zoom() * 1.0015 ** delta, event.position())
        event.accept()

    def fit_all(self) -> None:
        """Shows every node, never magnified beyond 100 % so a small graph stays crisp."""
        self.fit_rect(self.scene().nodes_rect())

    def fit_rect(self, rect: QRectF) -> None:
        if rect.isNull():
            self.resetTransform()
            self.scene().zoom_changed(1.0)
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        self.resetTransform()
        room = QRectF(self.viewport().rect())
        room, factor = self._clear_of_overlay(room, rect, _fit_factor(room, rect))
        self.set_zoom(factor)
        self.scene().zoom_changed(self.zoom())
        # rect's centre goes to the room's centre, which need not be the viewport's
        shift = QRectF(self.viewport().rect()).center() - room.center()
        self.centerOn(rect.center() + shift / self.zoom())

    def _clear_of_overlay(self, room: QRectF, rect: QRectF,
                          factor: float) -> tuple[QRectF, float]:
        """The part of the viewport to fit `rect` in, and the zoom, so that a visible overlay
        in a corner hides none of it: the whole room when the fitted graph misses the overlay,
        else the strip beside or above it, whichever shows the graph larger."""
        overlay = self.overlay
        if overlay is None or not overlay.isVisible():
            return room, factor
        box = QRectF(overlay.geometry()).translated(-QPointF(self.viewport().pos()))
        box = box.adjusted(-OVERLAY_GAP, -OVERLAY_GAP, OVERLAY_GAP, OVERLAY_GAP)
        size = rect.size() * factor
        fitted = QRectF(room.center().x() - size.width() / 2,
                        room.center().y() - size.height() / 2, size.width(), size.height())
        if not fitted.intersects(box):
            return room, factor
        beside = QRectF(room.left(), room.top(), box.left() - room.left(), room.height())
        above = QRectF(room.left(), room.top(), room.width(), box.top() - room.top())
        options = [(r, _fit_factor(r, rect)) for r in (beside, above) if r.isValid()]
        return max(options, key=lambda o: o[1], default=(room, factor))

    def follow(self, node_ids: list[str]) -> None:
        """Brings nodes just added into view when they lie outside it: the whole graph while
        it fits at a zoom its faces read at, else a scroll to them. A chain typed block by
        block, or a copy placed below, stays in sight without a gesture."""
        scene = self.scene()
        rect = QRectF()
        for item in filter(None, map(scene.node_item, node_ids)):
            rect = rect.united(item.sceneBoundingRect())
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if rect.isNull() or visible.contains(rect):
            return
        whole = scene.nodes_rect().adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        if _fit_factor(QRectF(self.viewport().rect()), whole) >= FOLLOW_MIN_ZOOM:
            self.fit_all()
        else:
            self.ensureVisible(rect, 24, 24)

    def center_on(self, node_ids: list[str]) -> None:
        """Selects these nodes and brings them into view (zooming out only if needed)."""
        scene = self.scene()
        scene.select_nodes(node_ids)
        items = [scene.node_item(n) for n in node_ids if scene.node_item(n) is not None]
        if not items:
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if rect.width() + 96 > visible.width() or rect.height() + 96 > visible.height():
            self.fit_rect(rect)
        else:
            self.centerOn(rect.center())

    # --- editing (called by the main window's actions) ---------------------------------
    def delete_selection(self) -> None:
        scene = self.scene()
        nodes, edges = scene.selected_node_ids(), scene.selected_edges()
        if nodes or edges:
            self.document.remove_items(nodes, edges)

    def nudge(self, dx: float, dy: float) -> None:
        """Moves the selected nodes by (dx, dy): one undo step per key press."""
        scene = self.scene()
        moves = {}
        for node_id in scene.selected_node_ids():
            pos = scene.node_item(node_id).pos()
            moves[node_id] = (pos.x() + dx, pos.y() + dy)
        if moves:
            self.document.move_nodes(moves)

    def select_all(self) -> None:
        self.scene().select_nodes([i.node_id for i in self.scene().node_items()])

    def copy(self) -> dict | None:
        """Puts the selected nodes (and the edges among them) on the clipboard as JSON."""
        ids = self.scene().selected_node_ids()
        if not ids:
            return None
        data = self.document.copy_nodes(ids)
        # Plain text only: QMimeData made in Python and handed to the clipboard crashes the
        # interpreter at exit (PySide6); paste reads the JSON text just as well.
        QApplication.clipboard().setText(json.dumps(data, indent=1))
        return data

    def paste(self) -> list[str]:
        """Pastes clipboard nodes at the cursor (or offset from the originals)."""
        data = _clipboard_nodes()
        if not data:
            return []
        offset = (40.0, 40.0)
        cursor = self.viewport().mapFromGlobal(QCursor.pos())
        spots = [n.get("ui", {}).get("pos") for n in data["nodes"]]
        spots = [p for p in spots if isinstance(p, list) and len(p) == 2]
        if self.viewport().rect().contains(cursor) and spots:
            at = self.mapToScene(cursor)
            offset = (at.x() - min(p[0] for p in spots), at.y() - min(p[1] for p in spots))
        new = self.document.paste(data, offset) or []
        self.scene().select_nodes(new)
        return new

    def duplicate(self, tied: bool = False) -> list[str]:
        ids = self.scene().selected_node_ids()
        new = self.document.duplicate(ids, tied) if ids else []
        self.scene().select_nodes(new or [])
        self.follow(new or [])
        return new or []

    def add_node_at(self, type_id: str, scene_pos: QPointF,
                    params: dict | None = None) -> str | None:
        """Adds a node whose header is centred on `scene_pos`; selects it."""
        pos = (scene_pos.x() - NODE_WIDTH / 2, scene_pos.y() - HEADER_H / 2)
        node_id = self.document.add_node(type_id, pos, params)
        if node_id:
            self.scene().select_nodes([node_id])
        return node_id

    def open_quick_add(self, viewport_pos: QPoint | None = None, wire=None) -> None:
        """The search popup at the cursor; the chosen type lands where it was opened. With
        `wire` (a PortItem whose wire was let go here) it lists only the types that could take
        the wire, and connects the new node."""
        from gui.canvas.quick_add import QuickAdd, add_wired, types_for_wire

        if viewport_pos is None:
            viewport_pos = self.viewport().mapFromGlobal(QCursor.pos())
            if not self.viewport().rect().contains(viewport_pos):
                viewport_pos = self.viewport().rect().center()
        scene_pos = self.mapToScene(viewport_pos)
        if wire is None:
            self.quick_add = QuickAdd(self, lambda t, p: self.add_node_at(t, scene_pos, p))
        else:
            self.quick_add = QuickAdd(self, lambda t, p: add_wired(self, t, scene_pos, wire, p),
                                      types_for_wire(wire.kind, wire.output))
        self.quick_add.popup(self.viewport().mapToGlobal(viewport_pos))

    def _wire_dropped(self, port, scene_pos: QPointF) -> None:
        self.open_quick_add(self.mapFromScene(scene_pos), wire=port)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        from gui.canvas.context_menu import context_menu

        context_menu(self, event.pos()).exec(event.globalPos())
        event.accept()

    # --- mouse -------------------------------------------------------------------------
    def _empty_at(self, pos: QPoint) -> bool:
        return not any(isinstance(i, NodeItem) or i.parentItem() is not None
                       or i.acceptedMouseButtons() != Qt.MouseButton.NoButton
                       for i in self.items(pos))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        panning = event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton)
        if panning:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)
        self._scroller.track(event.position().toPoint(), event.buttons(), self._dragging(event))

    def _dragging(self, event) -> bool:
        """A node or a wire is being dragged (the canvas may scroll). Not a rubber band: Qt
        anchors its corner to the viewport, so scrolling would drag the corner along."""
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return False
        scene = self.scene()
        return scene.wiring or scene.mouseGrabberItem() is not None

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        self._scroller.stop()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and self._empty_at(pos):
            self.open_quick_add(pos)
            event.accept()
            return
        node = next((i for i in self.items(pos) if isinstance(i, NodeItem)), None)
        if event.button() == Qt.MouseButton.LeftButton and node is not None \
                and node.category == "network":
            self.document.open_instance(node.node_id)  # inside, where it is edited
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # --- keys --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif key == Qt.Key.Key_Escape:
            self._escape()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selection()
        elif key == Qt.Key.Key_Tab:
            self.open_quick_add()
        elif ctrl and key in (Qt.Key.Key_Equal, Qt.Key.Key_Plus):
            self.zoom_in()
        elif ctrl and key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif ctrl and key == Qt.Key.Key_0:
            self.set_zoom(1.0)
        elif key in _NUDGE and not ctrl:
            dx, dy = _NUDGE[key]
            step = 50.0 if mods & Qt.KeyboardModifier.ShiftModifier else 10.0
            self.nudge(dx * step, dy * step)
        elif key == Qt.Key.Key_Home or (key == Qt.Key.Key_F and not mods):
            ids = self.scene().selected_node_ids()
            self.center_on(ids) if ids and key == Qt.Key.Key_F else self.fit_all()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _escape(self) -> None:
        """Drops a wire being dragged, else the selection, else (with nothing to drop inside
        a network) backs out of the network."""
        scene = self.scene()
        if scene.cancel_wire():
            return
        if scene.selectedItems() or not self.document.trail:
            scene.clearSelection()
        else:
            self.document.go_to_depth(len(self.document.trail) - 1)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next_: bool) -> bool:  # noqa: N802
        return False  # Tab opens the quick-add search instead of moving the focus

    # --- drops from the palette --------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        if not event.mimeData().hasFormat(NODE_MIME):
            super().dropEvent(event)
            return
        type_id = bytes(event.mimeData().data(NODE_MIME)).decode("utf-8")
        try:
            self.add_node_at(type_id, self.mapToScene(event.position().toPoint()))
        except (ComposerError, OSError) as e:  # a network that cannot go here, or be read
            self.document.message.emit(str(e))
        event.acceptProposedAction()

    # --- painting ----------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        draw_grid(painter, rect, self.zoom())

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if not getattr(self.document, "read_only", False):
            return
        painter.save()
        painter.resetTransform()
        s = style()
        painter.setFont(s.banner_font)
        width = painter.fontMetrics().horizontalAdvance(READ_ONLY_TEXT) + 32
        box = QRectF((self.viewport().width() - width) / 2, 10, width, 28)
        path = QPainterPath()
        path.addRoundedRect(box, 14, 14)
        painter.fillPath(path, faded(QColor("#b26a00"), 0.92))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, READ_ONLY_TEXT)
        painter.restore()


def _fit_factor(room: QRectF, rect: QRectF) -> float:
    """The zoom that shows `rect` whole in `room`, never above 100 % (a small graph stays
    crisp)."""
    return min(room.width() / rect.width(), room.height() / rect.height(), 1.0)


def _clipboard_nodes() -> dict | None:
    mime = QApplication.clipboard().mimeData()
    if mime is None:
        return None
    raw = bytes(mime.data(CLIPBOARD_MIME)).decode("utf-8") if mime.hasFormat(CLIPBOARD_MIME) \
        else mime.text()
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and data["nodes"]:
        return data
    return None
