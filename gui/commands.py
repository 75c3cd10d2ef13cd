"""One QUndoCommand per kind of edit. Each calls only composer.graph mutators.

The views never change themselves here: they follow the graph's events, so undo and redo
redraw exactly like the edit did. Several changes from one gesture are pushed inside one
macro by the Document; edits of one field typed key by key merge through `mergeWith`.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from composer.graph import Edge, Graph, Group, Node, Removal
from composer.networks import Network

# Ids for QUndoCommand.id(): commands with the same id may merge.
MERGE_PARAM = 1
MERGE_LABEL = 2
MERGE_GROUP = 3
MERGE_META = 4
MERGE_NETWORK = 5


class AddNode(QUndoCommand):
    def __init__(self, graph: Graph, node: Node, index: int | None = None) -> None:
        super().__init__(f"Add {node.id}")
        self.graph, self.node, self.index = graph, node, index

    def redo(self) -> None:
        self.graph.add_node(copy.deepcopy(self.node), self.index)

    def undo(self) -> None:
        self.graph.remove_node(self.node.id)


class RemoveNode(QUndoCommand):
    """Removes a node with its edges and memberships; undo restores them in place."""

    def __init__(self, graph: Graph, node_id: str) -> None:
        super().__init__(f"Delete {node_id}")
        self.graph, self.node_id = graph, node_id
        self.removal: Removal | None = None

    def redo(self) -> None:
        self.removal = self.graph.remove_node(self.node_id)

    def undo(self) -> None:
        self.graph.restore_node(self.removal)


class Connect(QUndoCommand):
    def __init__(self, graph: Graph, edge: Edge) -> None:
        super().__init__(f"Connect {edge}")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.connect(self.edge)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class Disconnect(QUndoCommand):
    """Removes one edge; undo puts it back at its place in file order."""

    def __init__(self, graph: Graph, edge: Edge) -> None:
        super().__init__(f"Disconnect {edge}")
        self.graph, self.edge = graph, edge
        self.index = 0

    def redo(self) -> None:
        self.index = self.graph.edges.index(self.edge)
        self.graph.disconnect(self.edge)

    def undo(self) -> None:
        self.graph.connect(self.edge, self.index)


class SetParam(QUndoCommand):
    """Sets one parameter. Successive edits of the same parameter merge into one step."""

    def __init__(self, graph: Graph, node_id: str, name: str, old: Any, new: Any) -> None:
        super().__init__(f"Set {node_id}.{name}")
        self.graph, self.node_id, self.name = graph, node_id, name
        self.old, self.new = copy.deepcopy(old), copy.deepcopy(new)

    def id(self) -> int:
        return MERGE_PARAM

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParam) or (other.node_id, other.name) != (
                self.node_id, self.name):
            return False
        self.new = copy.deepcopy(other.new)
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.graph.set_param(self.node_id, self.name, self.new)

    def undo(self) -> None:
        self.graph.set_param(self.node_id, self.name, self.old)


class SetLabel(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, old: str | None, new: str | None) -> None:
        super().__init__(f"Rename {node_id}")
        self.graph, self.node_id, self.old, self.new = graph, node_id, old, new

    def id(self) -> int:
        return MERGE_LABEL

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetLabel) or other.node_id != self.node_id:
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.graph.set_label(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_label(self.node_id, self.old)


class SetShares(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, old: str | None, new: str | None) -> None:
        super().__init__(f"Tie {node_id}" if new else f"Untie {node_id}")
        self.graph, self.node_id, self.old, self.new = graph, node_id, old, new

    def redo(self) -> None:
        self.graph.set_shares(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_shares(self.node_id, self.old)


class SetWeights(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, old: dict | None, new: dict | None) -> None:
        super().__init__(f"Load weights into {node_id}" if new else
                         f"Remove weights file of {node_id}")
        self.graph, self.node_id, self.old, self.new = graph, node_id, old, new

    def redo(self) -> None:
        self.graph.set_weights(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_weights(self.node_id, self.old)


class MoveNodes(QUndoCommand):
    """Moves several nodes at once: the end of one drag."""

    def __init__(self, graph: Graph, old: dict[str, Any], new: dict[str, Any]) -> None:
        super().__init__("Move" if len(new) != 1 else f"Move {next(iter(new))}")
        self.graph, self.old, self.new = graph, old, new

    def _apply(self, positions: dict[str, Any]) -> None:
        for node_id, pos in positions.items():
            self.graph.move_node(node_id, pos)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class AddGroup(QUndoCommand):
    def __init__(self, graph: Graph, group: Group) -> None:
        super().__init__(f"Add group {group.id}")
        self.graph, self.group = graph, group

    def redo(self) -> None:
        self.graph.add_group(copy.deepcopy(self.group))

    def undo(self) -> None:
        self.graph.remove_group(self.group.id)


class RemoveGroup(QUndoCommand):
    def __init__(self, graph: Graph, group_id: str) -> None:
        super().__init__(f"Delete group {group_id}")
        self.graph, self.group_id = graph, group_id
        self.removed: tuple[Group, int] | None = None

    def redo(self) -> None:
        self.removed = self.graph.remove_group(self.group_id)

    def undo(self) -> None:
        group, index = self.removed
        self.graph.add_group(group, index)


class UpdateGroup(QUndoCommand):
    """Replaces some fields of a group. Successive edits of the same fields merge."""

    def __init__(self, graph: Graph, group_id: str, fields: dict[str, Any]) -> None:
        super().__init__(f"Edit group {group_id}")
        self.graph, self.group_id = graph, group_id
        self.new = copy.deepcopy(fields)
        self.old: dict[str, Any] = {}

    def id(self) -> int:
        return MERGE_GROUP

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, UpdateGroup) or other.group_id != self.group_id
                or set(other.new) != set(self.new)):
            return False
        self.new = copy.deepcopy(other.new)
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        old = self.graph.update_group(self.group_id, **self.new)
        if not self.old:
            self.old = old

    def undo(self) -> None:
        self.graph.update_group(self.group_id, **self.old)


class RenameGroup(QUndoCommand):
    def __init__(self, graph: Graph, old: str, new: str) -> None:
        super().__init__(f"Rename group {old} to {new}")
        self.graph, self.old, self.new = graph, old, new

    def redo(self) -> None:
        self.graph.rename_group(self.old, self.new)

    def undo(self) -> None:
        self.graph.rename_group(self.new, self.old)


class SetGraphUi(QUndoCommand):
    """Sets one key of the graph's own `ui` (the watch list)."""

    def __init__(self, graph: Graph, key: str, old: Any, new: Any, text: str) -> None:
        super().__init__(text)
        self.graph, self.key = graph, key
        self.old, self.new = copy.deepcopy(old), copy.deepcopy(new)

    def redo(self) -> None:
        self.graph.set_ui(self.key, self.new)

    def undo(self) -> None:
        self.graph.set_ui(self.key, self.old)


class SetMeta(QUndoCommand):
    """Sets the graph's name, description or training settings."""

    def __init__(self, graph: Graph, fields: dict[str, Any]) -> None:
        super().__init__("Edit " + ", ".join(fields))
        self.graph, self.new = graph, dict(fields)
        self.old: dict[str, Any] = {}

    def id(self) -> int:
        return MERGE_META

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetMeta) or set(other.new) != set(self.new):
            return False
        self.new = dict(other.new)
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        old = self.graph.set_meta(**self.new)
        if not self.old:
            self.old = old

    def undo(self) -> None:
        self.graph.set_meta(**self.old)


class AddNetwork(QUndoCommand):
    """Defines a network in the file (the same object each redo: its inside stays the one
    that later commands edit)."""

    def __init__(self, graph: Graph, network: Network) -> None:
        super().__init__(f"Add network {network.name}")
        self.graph, self.network = graph, network

    def redo(self) -> None:
        self.graph.add_network(self.network)

    def undo(self) -> None:
        self.graph.remove_network(self.network.name)


class RemoveNetwork(QUndoCommand):
    """Takes a network out of the file (its instances must be gone already)."""

    def __init__(self, graph: Graph, name: str) -> None:
        super().__init__(f"Remove network {name}")
        self.graph, self.name = graph, name
        self.network: Network | None = None

    def redo(self) -> None:
        self.network = self.graph.remove_network(self.name)

    def undo(self) -> None:
        self.graph.add_network(self.network)


class UpdateNetwork(QUndoCommand):
    """Replaces some of a network's fields: its description, params, inputs or outputs."""

    def __init__(self, graph: Graph, name: str, fields: dict[str, Any]) -> None:
        super().__init__(f"Edit network {name}")
        self.graph, self.name = graph, name
        self.new = copy.deepcopy(fields)
        self.old: dict[str, Any] = {}

    def id(self) -> int:
        return MERGE_NETWORK

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, UpdateNetwork) or other.name != self.name
                or set(other.new) != set(self.new)):
            return False
        self.new = copy.deepcopy(other.new)
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        old = self.graph.update_network(self.name, **self.new)
        if not self.old:
            self.old = old

    def undo(self) -> None:
        self.graph.update_network(self.name, **self.old)
