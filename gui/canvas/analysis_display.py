"""Putting the document's latest analysis on the items: shapes, kinds, counts, badges.

Each item repaints only if what it shows changed, so re-analysing a 500-node graph after an
edit redraws the handful of nodes whose shapes moved, not the whole canvas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from composer.analysis.diagnostics import Diagnostic
from composer.analysis.shapes import Shapes
from composer.graph import Graph
from gui.canvas.edge_item import EdgeItem
from gui.canvas.kinds import port_kinds
from gui.canvas.node_item import NodeItem


def by_node(diagnostics: Iterable[Diagnostic] | None) -> dict[str | None, list[Diagnostic]]:
    """Diagnostics keyed by the node (or group) they name."""
    table: dict[str | None, list[Diagnostic]] = defaultdict(list)
    for d in diagnostics or ():
        table[d.node].append(d)
    return table


def _show_node(item: NodeItem, graph: Graph, shapes: Shapes | None,
               diagnostics: list[Diagnostic]) -> None:
    node_id = item.node_id
    texts = {}
    if shapes is not None:
        for port in item.outputs:
            info = shapes.output(node_id, port)
            if info is not None:
                texts[port] = str(info)
    if node_id in graph.nodes:
        ins, outs = port_kinds(graph, shapes, node_id)
        for table, kinds in ((item.inputs, ins), (item.outputs, outs)):
            for name, kind in kinds.items():
                if name in table:
                    table[name].set_kind(kind)
    count = shapes.param_counts.get(node_id) if shapes is not None else None
    item.set_analysis(texts, count, diagnostics)


def show_analysis(nodes: Iterable[NodeItem], edges: Iterable[EdgeItem], graph: Graph,
                  shapes: Shapes | None, diagnostics: list[Diagnostic] | None) -> dict:
    """Updates every node and edge; returns the diagnostics by node for the halos."""
    table = by_node(diagnostics)
    for item in nodes:
        _show_node(item, graph, shapes, table.get(item.node_id, []))
    for edge in edges:
        source = edge.src.port(edge.edge.src_port, True)
        if source is not None:
            edge.set_kind(source.kind)
    return table
