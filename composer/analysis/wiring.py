"""Whether a wire the user is dragging can be made, and what flows through each port.

The GUI asks `connection_problem` while a wire is dragged and refuses it with the reason; it
colours ports by `port_kind`. An input that is already wired is not a refusal: the new wire
replaces the old one, so the trial below runs with the new wire in its place.
"""

from __future__ import annotations

import logging

from composer.analysis.shapes import Shapes, TensorInfo, infer_node, phrase, precheck
from composer.catalogue import kinds
from composer.catalogue.base import NodeType
from composer.errors import GraphFormatError
from composer.fileformat import validate
from composer.graph import Graph

log = logging.getLogger(__name__)


def port_kind(graph: Graph, shapes: Shapes | None, node: str, port: str) -> str:
    """What flows through a port, for its colour: the declared kind, or for "same"/"tensor"
    ports the kind of the inferred shape there ("tensor" while unknown)."""
    n = graph.nodes.get(node)
    t = graph.type_of(n) if n is not None else None
    if t is None:
        return "tensor"
    params = graph.params_of(node)
    output = t.output_port(port, params)
    declared = output or t.input_port(params, port)
    if declared is None:
        return "tensor"
    if declared.kind not in ("same", "tensor") or shapes is None:
        return "tensor" if declared.kind == "same" else declared.kind
    if output is not None:
        info = shapes.output(node, port)
    else:
        info = shapes.inputs.get(node, {}).get(port)
    return kinds.kind_of(info) if info is not None else "tensor"


def missing_output(t: NodeType, node: str, port: str, params: dict) -> str:
    """Why a node has no such output: the parameter that would give it, or what it has."""
    declared = t.output_port(port)
    if declared is not None and declared.needs is not None:
        return (f"{t.id} {node} has no output {port} while {declared.needs} is null: set "
                f"{declared.needs} to give it one")
    outs = ", ".join(p.name for p in t.output_ports(params)) or "none"
    return f"{t.id} {node} has no output {port} (its outputs: {outs})"


def _ports(graph: Graph, src: str, src_port: str, dst: str,
           dst_port: str) -> tuple[NodeType | None, NodeType | None, str | None]:
    """Both ends' types (a network instance's too), or a reason the wire names something
    that is not there."""
    for node_id in (src, dst):
        if node_id not in graph.nodes:
            return None, None, f"there is no node {node_id}"
        if graph.type_of(graph.nodes[node_id]) is None:
            return None, None, f"{node_id} has an unknown type ({graph.nodes[node_id].type})"
    ts, td = graph.type_of(graph.nodes[src]), graph.type_of(graph.nodes[dst])
    if src == dst:
        return ts, td, "a node cannot feed itself"
    src_params = graph.params_of(src)
    if ts.output_port(src_port, src_params) is None:
        if ts.input_port(src_params, src_port) is not None:
            return ts, td, f"{src}.{src_port} is an input: drag from an output to an input"
        return ts, td, missing_output(ts, src, src_port, src_params)
    if td.input_port(graph.params_of(dst), dst_port) is None:
        if td.output_port(dst_port) is not None:
            return ts, td, f"{dst}.{dst_port} is an output: drag from an output to an input"
        ins = ", ".join(p.name for p in td.input_ports(graph.params_of(dst)))
        return ts, td, f"{td.id} {dst} has no input {dst_port} (its inputs: {ins or 'none'})"
    return ts, td, None


def _makes_cycle(graph: Graph, src: str, dst: str) -> bool:
    """True when src is reachable from dst: the new wire would close a loop."""
    children: dict[str, list[str]] = {}
    for e in graph.edges:
        children.setdefault(e.src, []).append(e.dst)
    seen, todo = {dst}, [dst]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child == src:
                return True
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return False


def connection_problem(graph: Graph, src: str, src_port: str, dst: str, dst_port: str,
                       shapes: Shapes | None = None) -> str | None:
    """Why the wire src.src_port -> dst.dst_port cannot be made, or None when it can.

    `src_port` is taken as an output and `dst_port` as an input. With `shapes` (inferred for
    this graph), the destination's inference is tried with the new wire in place; into a
    network instance, what its inside makes of the wire is left to the checks after the edit,
    which name the inner path.
    """
    ts, td, problem = _ports(graph, src, src_port, dst, dst_port)
    if problem:
        return problem
    if _makes_cycle(graph, src, dst):
        return f"{src} -> {dst} would close a cycle: {dst} already feeds {src}"
    src_kind = port_kind(graph, shapes, src, src_port)
    dst_kind = td.input_port(graph.params_of(dst), dst_port).kind
    problem = kinds.refusal(src_kind, dst_kind, f"{td.id} {dst}.{dst_port}")
    if problem or shapes is None or td.category == "network":
        return problem
    return _trial(graph, shapes, src, src_port, dst, dst_port, td)


def _trial(graph: Graph, shapes: Shapes, src: str, src_port: str, dst: str, dst_port: str,
           td: NodeType) -> str | None:
    """Would the destination's inference fail with this wire (replacing any old one)?"""
    arriving = shapes.output(src, src_port)
    if arriving is None:
        return None
    try:
        params = td.resolve(validate.node_params(td, graph.nodes[dst].params))
    except GraphFormatError as e:
        return f"{td.id} {dst} has a parameter to fix first: {e.where}: {e.detail}"
    inputs: dict[str, TensorInfo] = {}
    complete = True
    for port in td.input_ports(params):
        if port.name == dst_port:
            inputs[port.name] = arriving
            continue
        edge = graph.edge_into(dst, port.name)
        info = shapes.output(edge.src, edge.src_port) if edge else None
        if info is not None:
            inputs[port.name] = info
        elif edge is not None or not port.optional:
            complete = False
    try:
        problem = precheck(td, params, inputs)
    except Exception as e:  # a rule meeting what it did not foresee: refuse, and say so
        log.exception("trying %s.%s -> %s.%s failed", src, src_port, dst, dst_port)
        return f"cannot try this wire on {td.id} {dst}: {type(e).__name__}: {e}"
    if problem is None and complete:
        info, _, port, detail = infer_node(td, params, inputs)  # reports, never raises
        problem = None if info is not None else (port, detail or "cannot infer")
    return phrase(td.id, dst, problem[1]) if problem else None

