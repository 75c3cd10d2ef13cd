"""The scene's optimiser-group halos: which nodes each surrounds, and keeping them in place.

What a halo surrounds changes with the wiring (see `halo_nodes`); where it is drawn changes
whenever one of those nodes moves. Both are marked dirty as events come and brought up to date
in one `flush`: once per mouse move while dragging, once per edit otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtWidgets import QGraphicsScene

from composer.graph import Graph
from gui.canvas.group_item import GroupItem, halo_nodes
from gui.canvas.node_item import NodeItem


class Halos:
    """The GroupItems of one scene."""

    def __init__(self, scene: QGraphicsScene, node_item: Callable[[str], NodeItem | None]):
        self.scene = scene
        self.node_item = node_item
        self.items: dict[str, GroupItem] = {}
        self._of_node: dict[str, list[GroupItem]] = defaultdict(list)
        self._dirty: set[GroupItem] = set()
        self._extents_dirty = False
        self.graph: Graph | None = None

    def clear(self) -> None:
        """Forgets every item (the scene has just deleted them)."""
        self.items.clear()
        self._of_node.clear()
        self._dirty.clear()

    def rebuild(self, graph: Graph) -> None:
        """One item per group; a group sharing nodes with earlier ones is drawn further out
        (at the first free nesting level), so shared nodes show every halo they are in."""
        self.graph = graph
        for item in self.items.values():
            self.scene.removeItem(item)
        self.items.clear()
        levels: dict[str, set[int]] = defaultdict(set)
        for index, group in enumerate(graph.groups):
            item = GroupItem(group, index)
            core = [*group.members, *group.losses]
            taken = set().union(*(levels[m] for m in core))
            item.depth = next(d for d in range(len(taken) + 1) if d not in taken)
            for member in core:
                levels[member].add(item.depth)
            self.scene.addItem(item)
            self.items[group.id] = item
        self._extents_dirty = True
        self.flush()

    def wiring_changed(self) -> None:
        self._extents_dirty = True

    def node_moved(self, node_id: str) -> None:
        groups = self._of_node.get(node_id)
        if groups:
            self._dirty.update(groups)

    def flush(self) -> None:
        """Brings the halos up to date with the wiring and the nodes' positions."""
        if self._extents_dirty:
            self._update_extents()
        for item in self._dirty:
            if item.scene() is self.scene:
                rects = [QRectF(n.pos(), QSizeF(n.width, n.height))
                         for n in map(self.node_item, item.members) if n is not None]
                item.relayout(rects)
        self._dirty.clear()

    def _update_extents(self) -> None:
        self._of_node.clear()
        self._extents_dirty = False
        if self.graph is None:
            return
        for group in self.graph.groups:
            item = self.items.get(group.id)
            if item is None:
                continue
            item.members = halo_nodes(self.graph, group)
            for member in item.members:
                self._of_node[member].append(item)
            self._dirty.add(item)

    def show_diagnostics(self, by_node: dict[str | None, list]) -> None:
        for group_id, item in self.items.items():
            item.set_diagnostics(by_node.get(group_id, []))
