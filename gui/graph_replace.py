"""The whole graph replaced as one undoable edit (a past run's graph restored): every group,
node and network of the open graph taken away, the other graph's put in, its name and
training settings set. Made of the ordinary commands, so the canvas and the panels follow as
they follow any edit, and one undo brings the graph back as it was."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from PySide6.QtGui import QUndoCommand

from composer.graph import Graph
from gui import commands


def replace_steps(graph: Graph, other: Graph) -> Iterator[QUndoCommand]:
    """Commands that make `graph` hold what `other` holds (`other` is taken over: pass a
    copy). A generator: each command is built once the ones before it have run."""
    for group in reversed(list(graph.groups)):
        yield commands.RemoveGroup(graph, group.id)
    for node_id in reversed(list(graph.nodes)):
        yield commands.RemoveNode(graph, node_id)
    for name in sorted(graph.networks):
        yield commands.RemoveNetwork(graph, name)
    for name in sorted(other.networks):
        yield commands.AddNetwork(graph, other.networks[name])
    for node in other.nodes.values():
        yield commands.AddNode(graph, node)
    for edge in other.edges:
        yield commands.Connect(graph, edge)
    for group in other.groups:
        yield commands.AddGroup(graph, group)
    yield commands.SetMeta(graph, {"name": other.name, "description": other.description,
                                   **dataclasses.asdict(other.training)})
