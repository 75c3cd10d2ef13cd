"""Wiring by dragging from a port: the preview, the highlights, the drop, the refusal.

A drag may start at an output (a new wire) or at an input (a new wire backwards; if the input
is already wired, the existing wire is picked up and can be moved to another input or dropped
on empty canvas to remove it). Ports that could take the wire glow, the others fade; the end
snaps to a port near the cursor. A refused drop shows the reason beside the cursor.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QTimer

from gui import analysis, theme
from gui.canvas.edge_item import EdgeItem, WirePreview
from gui.canvas.port_item import IDLE, REFUSED, SOURCE, TARGET, PortItem

if TYPE_CHECKING:
    from gui.canvas.scene import CanvasScene

SNAP = 22.0  # a drop this close to a port lands on it
CLICK = 6.0  # a release this close to the press is a click, not a wire
BUDGET_S = 0.008  # time per frame spent deciding which ports could take the wire


class WireDrag:
    """One drag from `port`; `finish` or `cancel` ends it."""

    def __init__(self, scene: CanvasScene, port: PortItem) -> None:
        self.scene = scene
        self.picked: EdgeItem | None = None
        if not port.output:
            self.picked = scene.edge_into(port.node_id, port.name)
        if self.picked is not None:  # pick up the wire: its source stays, its end moves
            self.fixed = self.picked.src.port(self.picked.edge.src_port, True) or port
            self.picked.hide()
        else:
            self.fixed = port
        self.reasons: dict[PortItem, str | None] = {}
        self.preview = WirePreview(theme.kind_color(self.fixed.kind))
        scene.addItem(self.preview)
        self.fixed.set_wire_state(SOURCE)
        here = self.start = port.anchor()
        self._pending = sorted(self._candidates(), key=lambda p: _distance2(p.anchor(), here))
        self._timer = QTimer(scene, interval=0)
        self._timer.timeout.connect(self._mark_some)
        self._mark_some()
        self.move(here)

    # --- what could take the wire -------------------------------------------------------
    def _candidates(self) -> list[PortItem]:
        """Ports of the other direction in view (all ports when no view is attached)."""
        area = self.scene.visible_rect()
        items = self.scene.items(area) if area is not None else self.scene.items()
        return [i for i in items if isinstance(i, PortItem)
                and i.output != self.fixed.output and i.node_id != self.fixed.node_id]

    def _problem(self, other: PortItem) -> str | None:
        if other in self.reasons:
            return self.reasons[other]
        src, dst = (self.fixed, other) if self.fixed.output else (other, self.fixed)
        doc = self.scene.document
        if self.picked is not None and dst.node_id == self.picked.edge.dst \
                and dst.name == self.picked.edge.dst_port:
            reason = None  # back where it came from
        else:
            reason = analysis.connection_problem(doc.level, doc.shapes, src.node_id, src.name,
                                                 dst.node_id, dst.name)
        self.reasons[other] = reason
        return reason

    def _mark_some(self) -> None:
        """Judges the ports nearest the cursor first, a frame's budget at a time, so the
        press answers at once even with hundreds of ports in view."""
        start = time.perf_counter()
        while self._pending and time.perf_counter() - start < BUDGET_S:
            port = self._pending.pop(0)
            if port.scene() is self.scene:
                port.set_wire_state(TARGET if self._problem(port) is None else REFUSED)
        if self._pending and not self._timer.isActive():
            self._timer.start()
        elif not self._pending:
            self._timer.stop()

    def _port_near(self, pos: QPointF) -> PortItem | None:
        area = QRectF(pos.x() - SNAP, pos.y() - SNAP, 2 * SNAP, 2 * SNAP)
        best, best_d = None, SNAP * SNAP
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.output != self.fixed.output \
                    and item.node_id != self.fixed.node_id:
                dist = _distance2(item.anchor(), pos)
                if dist <= best_d:
                    best, best_d = item, dist
        return best

    # --- the gesture --------------------------------------------------------------------
    def move(self, pos: QPointF) -> None:
        target = self._port_near(pos)
        if target is not None and target.wire_state == IDLE:  # came into view while dragging
            target.set_wire_state(TARGET if self._problem(target) is None else REFUSED)
        snapped = target is not None and self._problem(target) is None
        end = target.anchor() if snapped else pos
        start = self.fixed.anchor()
        if self.fixed.output:
            self.preview.set_ends(start, end, snapped)
        else:
            self.preview.set_ends(end, start, snapped)

    def finish(self, pos: QPointF) -> str | None:
        """Drops the wire at `pos`; returns the refusal shown, if any."""
        target = self._port_near(pos)
        doc = self.scene.document
        reason = None
        fixed = self.fixed
        if target is None and _distance2(pos, self.start) < CLICK * CLICK:
            self._end()  # a click on a port, not a drag: nothing to do
            return None
        if target is None:
            if self.picked is not None:
                doc.disconnect(self.picked.edge)
            else:  # dropped on the canvas: offer the types that could take it, there
                self._end()
                self.scene.wire_dropped.emit(fixed, pos)
                return None
        else:
            reason = self._connect(target)
        self._end()
        if reason:
            self.scene.show_refusal(reason, pos)
        return reason

    def _connect(self, target: PortItem) -> str | None:
        src, dst = (self.fixed, target) if self.fixed.output else (target, self.fixed)
        doc = self.scene.document
        picked = self.picked.edge if self.picked is not None else None
        if picked is not None and (picked.dst, picked.dst_port) == (dst.node_id, dst.name):
            return None
        if picked is None or self._problem(target) is not None:
            # the document decides, and says why not in the status bar too
            return doc.connect(src.node_id, src.name, dst.node_id, dst.name)
        doc.undo_stack.beginMacro(f"Move wire {picked}")
        doc.disconnect(picked)
        reason = doc.connect(src.node_id, src.name, dst.node_id, dst.name)
        doc.undo_stack.endMacro()
        if reason:  # the macro holds only the disconnect: take it back
            doc.undo_stack.undo()
        return reason

    def cancel(self) -> None:
        self._end()

    def _end(self) -> None:
        self._timer.stop()
        self._pending = []
        for port in self.reasons:
            port.set_wire_state(IDLE)
        self.fixed.set_wire_state(IDLE)
        if self.picked is not None and self.picked.scene() is not None:
            self.picked.show()
        self.scene.removeItem(self.preview)


def _distance2(a: QPointF, b: QPointF) -> float:
    d = a - b
    return d.x() * d.x() + d.y() * d.y()
