"""The canvas's right-click menu: what can be done with the thing under the cursor.

On a node of the top level it offers to watch each output (a preview beside the training
curves); on an output port, that port first."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu

from gui.canvas.edge_item import EdgeItem
from gui.canvas.node_item import NodeItem
from gui.canvas.port_item import PortItem
from gui.watching import is_watched, set_watched
from gui.weights_dialog import can_load_weights, load_weights


def _thing_at(view, pos: QPoint):
    """The node or wire under `pos`, and the output port's name when it is on one."""
    for item in view.items(pos):
        if isinstance(item, PortItem):
            return item.node_item, item.name if item.output else None
        if isinstance(item, NodeItem | EdgeItem):
            return item, None
    return None, None


def _add_watch_actions(menu: QMenu, view, node_id: str, port: str | None) -> None:
    """A checkable "Watch node.port" per output of a top-level node (the port under the
    cursor alone, when on one)."""
    document = view.document
    if document.level is not document.graph:
        return  # previews show outputs of the top level, where runs compute them
    item = view.scene().node_item(node_id)
    ports = [port] if port is not None else list(item.outputs) if item is not None else []
    for name in ports:
        ref = f"{node_id}.{name}"
        action = menu.addAction(f"Watch {ref}")
        action.setCheckable(True)
        action.setChecked(is_watched(document, ref))
        action.setToolTip("show what this output produces beside the training curves, "
                          "after each epoch")
        action.toggled.connect(lambda on, r=ref: set_watched(document, r, on))


def context_menu(view, pos: QPoint) -> QMenu:
    """A menu for the node or wire at `pos` (selecting it first), or for the empty canvas."""
    scene = view.scene()
    thing, port = _thing_at(view, pos)
    menu = QMenu(view)
    if thing is not None and not thing.isSelected():
        scene.clearSelection()
        thing.setSelected(True)
    if isinstance(thing, NodeItem):
        ids = scene.selected_node_ids()
        if port is not None:
            _add_watch_actions(menu, view, thing.node_id, port)
            menu.addSeparator()
        menu.addAction("Copy", view.copy)
        menu.addAction("Duplicate", lambda: view.duplicate(False))
        menu.addAction("Duplicate with tied weights", lambda: view.duplicate(True))
        menu.addSeparator()
        menu.addAction(f"New optimiser group from {len(ids)} node(s)",
                       lambda: view.document.add_group(ids))
        if len(ids) == 1 and can_load_weights(view.document, ids[0]):
            menu.addAction("Load weights\u2026",
                           lambda: load_weights(view.window(), view.document, ids[0]))
        if port is None:
            menu.addSeparator()
            _add_watch_actions(menu, view, thing.node_id, None)
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
