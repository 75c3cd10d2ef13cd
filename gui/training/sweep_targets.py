"""The settings a sweep can vary, as a tree: groups and their optimiser settings, loss
weights, nodes and their parameters, training settings, and the nodes inside each network;
each with its value now. Built from composer.sweep.sweepable, so the tree offers exactly what
`composer sweep --set` takes."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from composer.graph import Graph
from composer.graph_diff import value_text
from composer.sweep import SweepError, Target, current_value, declaration, sweepable

ROLE = Qt.ItemDataRole.UserRole


class TargetTree(QTreeWidget):
    chosen = Signal(object)  # the Target picked, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="sweep_targets", uniformRowHeights=True)
        self.setHeaderLabels(["Setting", "Now"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(False)
        self.graph: Graph | None = None
        self.itemSelectionChanged.connect(lambda: self.chosen.emit(self.target()))

    def show_graph(self, graph: Graph) -> None:
        """Lists the graph's targets: groups expanded, the rest folded."""
        self.graph = graph
        self.blockSignals(True)
        self.clear()
        branches: dict[tuple, QTreeWidgetItem] = {}

        def branch(*path: str) -> QTreeWidgetItem:
            if path not in branches:
                parent = branch(*path[:-1]) if len(path) > 1 else self.invisibleRootItem()
                branches[path] = QTreeWidgetItem(parent, [path[-1]])
                branches[path].setFlags(Qt.ItemFlag.ItemIsEnabled)
            return branches[path]

        for target in sweepable(graph):
            self._leaf(branch(*_place(graph, target)), target)
        for path, item in branches.items():
            item.setExpanded(path[0] in ("Groups", "Loss weights") and len(path) <= 2)
        self.blockSignals(False)

    def _leaf(self, parent: QTreeWidgetItem, target: Target) -> None:
        name = f"{target.owner}: weight" if parent.text(0) == "Loss weights" else target.name
        item = QTreeWidgetItem(parent, [name, value_text(current_value(self.graph, target))])
        item.setData(0, ROLE, target)
        item.setToolTip(0, f"{target.text}: {declaration(self.graph, target).describe()}")

    def target(self) -> Target | None:
        items = self.selectedItems()
        return items[0].data(0, ROLE) if items else None

    def leaf(self, target: Target) -> QTreeWidgetItem | None:
        for item in self._leaves():
            if item.data(0, ROLE) == target:
                return item
        return None

    def select(self, target: Target | None) -> None:
        """Selects a target's row, unfolding its branch and scrolling to it."""
        item = self.leaf(target) if target is not None else None
        self.clearSelection()
        if item is None:
            return
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        item.setSelected(True)
        self.setCurrentItem(item)
        self.scrollToItem(item)

    def preselect(self, nodes: list[str], network: str | None) -> None:
        """The first selected node's first setting (a loss node's weight), else the first
        group's learning rate, else the first row."""
        leaves = [item.data(0, ROLE) for item in self._leaves()]
        for node in nodes:
            for target in leaves:
                if target.kind == "node" and target.owner == node and \
                        target.network == network:
                    self.select(target)
                    return
        first = next((t for t in leaves if t.kind == "group" and t.name == "lr"),
                     leaves[0] if leaves else None)
        self.select(first)

    def _leaves(self) -> list[QTreeWidgetItem]:
        found, todo = [], [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while todo:
            item = todo.pop(0)
            if item.data(0, ROLE) is not None:
                found.append(item)
            todo[:0] = [item.child(i) for i in range(item.childCount())]
        return found


def _place(graph: Graph, target: Target) -> tuple[str, ...]:
    """The branch a target is listed under."""
    if target.kind == "training":
        return ("Training",)
    if target.kind == "group":
        return ("Groups", f"group {target.owner}")
    if target.network is not None:
        level = graph.networks[target.network].graph
        return (f"Network {target.network}", _node_text(level, target.owner))
    node = graph.nodes[target.owner]
    t = graph.type_of(node)
    if target.name == "weight" and t is not None and t.category == "loss":
        return ("Loss weights",)
    return ("Nodes", _node_text(graph, target.owner))


def _node_text(level: Graph, node_id: str) -> str:
    return f"{node_id} \u00b7 {level.nodes[node_id].type}"


def safe_declaration(graph: Graph, target: Target) -> str:
    """What a valid value looks like, or why the target is gone."""
    try:
        return declaration(graph, target).describe()
    except SweepError as e:
        return str(e)
