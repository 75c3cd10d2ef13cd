"""Shape inference and checks for the editor, and whether a wire may be drawn.

composer.analysis.checks and composer.analysis.wiring are imported on first use, so networkx
loads after the window is up; checking needs no torch at all (each node type declares its
shape rule).
"""

from __future__ import annotations

import logging

from composer.analysis.diagnostics import ERROR, Diagnostic
from composer.graph import Graph

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

    return problem(graph, src, src_port, dst, dst_port, shapes)


def first_wire(graph: Graph, shapes, src: str, dst: str) -> tuple[str, str] | None:
    """The first (output of src, input of dst) pair, in port order, that may be wired, with
    the inputs nothing feeds yet tried first; None when no pair may."""
    ts, td = graph.type_of(graph.nodes[src]), graph.type_of(graph.nodes[dst])
    if ts is None or td is None:
        return None
    wired = {e.dst_port for e in graph.edges_into(dst)}
    inputs = sorted(td.input_ports(graph.params_of(dst)), key=lambda p: p.name in wired)
    for out in ts.output_ports(graph.params_of(src)):
        for into in inputs:
            if connection_problem(graph, shapes, src, out.name, dst, into.name) is None:
                return out.name, into.name
    return None
