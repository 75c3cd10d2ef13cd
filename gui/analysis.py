"""Shape inference and checks for the editor, and whether a wire may be drawn.

torch is imported on the first analysis (by composer.shapes), never at start-up.
"""

from __future__ import annotations

import logging

from composer.diagnostics import ERROR, Diagnostic
from composer.graph import Graph

log = logging.getLogger(__name__)


def analyse(graph: Graph):
    """(Shapes, diagnostics) of the graph. A failure of the analysis itself becomes an error
    diagnostic, so the editor never shows a stale or silently empty result as clean."""
    from composer.shapes import Shapes, infer

    try:
        shapes = infer(graph)
    except Exception as e:  # a bug in inference must not close the editor
        log.exception("shape inference failed")
        return Shapes(), [Diagnostic(ERROR, None, None, f"shape inference failed: {e}")]
    try:
        return shapes, _check(graph, shapes)
    except Exception as e:
        log.exception("checks failed")
        return shapes, [Diagnostic(ERROR, None, None, f"checking the graph failed: {e}")]


def _check(graph: Graph, shapes) -> list[Diagnostic]:
    try:
        from composer.checks import check
    except ImportError:
        return [Diagnostic(ERROR, p.node, p.port, p.message, p.param) for p in shapes.problems]
    return check(graph)


def connection_problem(graph: Graph, shapes, src: str, src_port: str, dst: str,
                       dst_port: str) -> str | None:
    """Why an edge src.src_port -> dst.dst_port cannot be drawn, or None when it can."""
    try:
        from composer.wiring import connection_problem as problem
    except ImportError:
        return _basic_problem(graph, src, src_port, dst, dst_port)
    return problem(graph, src, src_port, dst, dst_port, shapes)


def _basic_problem(graph: Graph, src: str, src_port: str, dst: str,
                   dst_port: str) -> str | None:
    for node_id in (src, dst):
        if node_id not in graph.nodes:
            return f"no node {node_id!r}"
    s, d = graph.nodes[src], graph.nodes[dst]
    if s.node_type.output_port(src_port) is None:
        return f"{src} has no output {src_port!r}"
    if d.node_type.input_port(d.resolved_params(), dst_port) is None:
        return f"{dst} has no input {dst_port!r}"
    if src == dst:
        return f"{src} cannot feed itself"
    reach, todo = set(), [dst]
    while todo:
        n = todo.pop()
        for e in graph.edges_out_of(n):
            if e.dst not in reach:
                reach.add(e.dst)
                todo.append(e.dst)
    if src in reach:
        return f"{dst} already feeds {src}: this wire would make a cycle"
    return None
