"""What flows through each port, resolved from the declarations and the inferred shapes.

A declared "same" or "tensor" port says little; once shapes are known it carries feature maps,
vectors or labels, and the canvas colours it so. composer.analysis.wiring decides; this gathers one
node's ports.
"""

from __future__ import annotations

from composer.analysis.shapes import Shapes
from composer.analysis.wiring import port_kind
from composer.graph import Graph


def port_kinds(graph: Graph, shapes: Shapes | None, node_id: str) -> tuple[dict, dict]:
    """(input kinds, output kinds) of one node, by port name."""
    node = graph.nodes[node_id]
    t = node.node_type
    if t is None:
        return {}, {}
    ins = {p.name: port_kind(graph, shapes, node_id, p.name)
           for p in t.input_ports(node.resolved_params())}
    outs = {p.name: port_kind(graph, shapes, node_id, p.name) for p in t.outputs}
    return ins, outs
