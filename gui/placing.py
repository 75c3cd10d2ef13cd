"""Where a node added after another goes: to its right, below whatever already sits there,
or, for a node nothing can feed (a data node), at the start of a row of its own below.

Sizes come from gui.canvas.metrics, as the canvas draws them, so nothing lands on a node.
"""

from __future__ import annotations

from composer.graph import Graph, Node
from gui.canvas.metrics import NODE_WIDTH, node_face

CHAIN_GAP = 44.0  # between a node and the one added after it
ROW_GAP = 48.0  # between rows, and a node and the one placed below it


def after(level: Graph, node_id: str, type_id: str, params: dict) -> tuple[float, float]:
    """The top-left corner for a node of this type added after `node_id`."""
    t = level.type_of(type_id)
    if t is not None and not t.input_ports(t.resolve(params)):
        return _new_row(level, node_id)
    x, y = level.nodes[node_id].ui.get("pos", [0.0, 0.0])
    x += NODE_WIDTH + CHAIN_GAP
    height = node_face(level, Node("new", type_id, dict(params))).height
    moved = True
    while moved:  # step below the nodes already there
        moved = False
        for other in level.nodes.values():
            ox, oy = other.ui.get("pos", [None, None])
            if ox is None or abs(ox - x) >= NODE_WIDTH:
                continue
            bottom = oy + node_face(level, other).height
            if oy < y + height and y < bottom:
                y, moved = bottom + ROW_GAP / 2, True
    return x, y


def _new_row(level: Graph, node_id: str) -> tuple[float, float]:
    """Below everything, where the chain `node_id` ends starts."""
    head, seen = node_id, {node_id}
    while level.edges_into(head) and level.edges_into(head)[0].src not in seen:
        head = level.edges_into(head)[0].src
        seen.add(head)
    x = level.nodes[head].ui.get("pos", [0.0, 0.0])[0]
    bottom = max((n.ui["pos"][1] + node_face(level, n).height
                  for n in level.nodes.values() if "pos" in n.ui), default=0.0)
    return x, bottom + ROW_GAP
