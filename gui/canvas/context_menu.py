"""The canvas's right-click menu: what can be done with the thing under the cursor."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu

from gui.canvas.edge_item import EdgeItem
from gui.canvas.node_item import NodeItem
from gui.canvas.port_item import PortItem
from gui.weights_dialog import can_load_weights, load_weights


def _thing_at(view, pos: QPoint):
    for item in view.items(pos):
        if isinstance(item, PortItem):
            return item.node_item
        if isinstance(item, NodeItem | EdgeItem):
            return item
    return None


def context_menu(view, pos: QPoint) -> QMenu:
    """A menu for the node or wire at `pos` (selecting it first), or for the empty canvas."""
    scene = view.scene()
    thing = _thing_at(view, pos)
    menu = QMenu(view)
    if thing is not None and not thing.isSelected():
        scene.clearSelection()
        thing.setSelected(True)
    if isinstance(thing, NodeItem):
        ids = scene.selected_node_ids()
        menu.addAction("Copy", view.copy)
        menu.addAction("Duplicate", lambda: view.duplicate(False))
        menu.addAction("Duplicate with tied weights", lambda: view.duplicate(True))
        menu.addSeparator()
        menu.addAction(f"New optimiser group from {len(ids)} node(s)",
                       lambda: view.document.add_group(ids))
        if len(ids) == 1 and can_load_weights(view.document, ids[0]):
            menu.addAction("Load weights\u2026",
                           lambda: load_weights(view.window(), view.document, ids[0]))
        menu.addSeparator()
        menu.addAction("Delete", view.delete_selection)
    elif isinstance(thing, EdgeItem):
        menu.addAction(f"Delete wire {thing.edge}", view.delete_selection)
    else:
        menu.addAction("Add node\u2026", lambda: view.open_quick_add(pos))
        menu.addAction("Paste", view.paste)
        menu.addSeparator()
        menu.addAction("Select all", view.select_all)
        menu.addAction("Fit the graph in view", view.fit_all)
    return menu
