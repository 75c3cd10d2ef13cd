"""Shape inference and checks for the editor, and whether a wire may be drawn.

composer.analysis.checks and composer.analysis.wiring are imported on first use, so networkx
loads after the window is up; checking needs no torch at all (each node type declares its
shape rule).
"""

from __future__ import annotations

import logging

from composer.analysis.diagnostics import ERROR, Diagnostic
from composer.catalogue import kinds
from composer.graph import Graph
from composer.networks import network_name

log = logging.getLogger(__name__)


def analyse(graph: Graph):
    """The graph's composer.analysis.checks.Analysis. A failure of the analysis itself becomes
    an error diagnostic, so the editor never shows a stale or silently empty result as clean."""
    from composer.analysis.checks import Analysis, Valid, analyse
    from composer.analysis.flatten import Flat
    from composer.analysis.shapes import Shapes

    try:
        return analyse(graph)
    except Exception as e:  # a bug in the checks must not close the editor: say so, and log it
        log.exception("analysing the graph failed")
        return Analysis([Diagnostic(ERROR, None, None, f"checking the graph failed: {e}")],
                        Shapes(), Valid(), Flat(graph))


def connection_problem(graph: Graph, shapes, src: str, src_port: str, dst: str,
                       dst_port: str) -> str | None:
    """Why an edge src.src_port -> dst.dst_port cannot be drawn, or None when it can. `graph`
    is the level being edited and `shapes` its shapes (gui.levels)."""
    from composer.analysis.wiring import connection_problem as problem

    if any(is_instance(graph, n) for n in (src, dst)):
        return _instance_wire_problem(graph, shapes, src, src_port, dst, dst_port)
    return problem(graph, src, src_port, dst, dst_port, shapes)


def is_instance(graph: Graph, node_id: str) -> bool:
    node = graph.nodes.get(node_id)
    return node is not None and network_name(node.type) is not None


def _instance_wire_problem(graph: Graph, shapes, src: str, src_port: str, dst: str,
                           dst_port: str) -> str | None:
    """The checks of a wire with a network instance at one end: ports, loops and kinds. What
    the shapes inside make of it, the analysis after the edit reports on the inner path."""
    from composer.analysis.wiring import port_kind

    ts, td = graph.type_of(graph.nodes[src]), graph.type_of(graph.nodes[dst])
    if ts is None or td is None:
        unknown = src if ts is None else dst
        return f"{unknown} has an unknown type ({graph.nodes[unknown].type})"
    if src == dst:
        return "a node cannot feed itself"
    out = ts.output_port(src_port)
    into = td.input_port(graph.params_of(dst), dst_port)
    if out is None:
        names = ", ".join(p.name for p in ts.outputs) or "none"
        return f"{ts.id} {src} has no output {src_port} (its outputs: {names})"
    if into is None:
        names = ", ".join(p.name for p in td.input_ports(graph.params_of(dst))) or "none"
        return f"{td.id} {dst} has no input {dst_port} (its inputs: {names})"
    if _reaches(graph, dst, src):
        return f"{src} -> {dst} would close a cycle: {dst} already feeds {src}"
    if is_instance(graph, src):
        info = shapes.output(src, src_port) if shapes is not None else None
        kind = kinds.kind_of(info) if info is not None else out.kind
    else:
        kind = port_kind(graph, shapes, src, src_port)
    return kinds.refusal(kind, into.kind, f"{td.id} {dst}.{dst_port}")


def _reaches(graph: Graph, start: str, goal: str) -> bool:
    children: dict[str, list[str]] = {}
    for e in graph.edges:
        children.setdefault(e.src, []).append(e.dst)
    seen, todo = {start}, [start]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child == goal:
                return True
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return False


def first_wire(graph: Graph, shapes, src: str, dst: str) -> tuple[str, str] | None:
    """The first (output of src, input of dst) pair, in port order, that may be wired, with
    the inputs nothing feeds yet tried first; None when no pair may."""
    ts, td = graph.type_of(graph.nodes[src]), graph.type_of(graph.nodes[dst])
    if ts is None or td is None:
        return None
    wired = {e.dst_port for e in graph.edges_into(dst)}
    inputs = sorted(td.input_ports(graph.params_of(dst)), key=lambda p: p.name in wired)
    for out in ts.outputs:
        for into in inputs:
            if connection_problem(graph, shapes, src, out.name, dst, into.name) is None:
                return out.name, into.name
    return None
