"""What flows through each port, resolved from the declarations and the inferred shapes.

A declared "same" or "tensor" port says little; once shapes are known it carries feature maps,
vectors or labels, and the canvas colours it so. composer.analysis.wiring decides; this gathers one
node's ports. A network instance's ports are read from its level's shapes the same way.
"""

from __future__ import annotations

from composer.analysis.shapes import Shapes
from composer.analysis.wiring import port_kind
from composer.catalogue import kinds
from composer.graph import Graph
from composer.networks import network_name


def port_kinds(graph: Graph, shapes: Shapes | None, node_id: str) -> tuple[dict, dict]:
    """(input kinds, output kinds) of one node, by port name."""
    node = graph.nodes[node_id]
    if network_name(node.type) is not None:
        return _instance_kinds(graph, shapes, node_id)
    t = node.node_type
    if t is None:
        return {}, {}
    params = node.resolved_params()
    ins = {p.name: port_kind(graph, shapes, node_id, p.name) for p in t.input_ports(params)}
    outs = {p.name: port_kind(graph, shapes, node_id, p.name) for p in t.output_ports(params)}
    return ins, outs


def _instance_kinds(graph: Graph, shapes: Shapes | None, node_id: str) -> tuple[dict, dict]:
    t = graph.type_of(graph.nodes[node_id])
    if t is None:
        return {}, {}
    arriving = shapes.inputs.get(node_id, {}) if shapes is not None else {}

    def kind(port, info) -> str:
        if port.kind not in ("same", "tensor") or info is None:
            return "tensor" if port.kind == "same" else port.kind
        return kinds.kind_of(info)

    ins = {p.name: kind(p, arriving.get(p.name)) for p in t.input_ports(t.defaults())}
    outs = {p.name: kind(p, shapes.output(node_id, p.name) if shapes is not None else None)
            for p in t.outputs}
    return ins, outs
