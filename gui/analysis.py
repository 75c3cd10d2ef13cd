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
    """(Shapes, diagnostics) of the graph. A failure of the analysis itself becomes an error
    diagnostic, so the editor never shows a stale or silently empty result as clean."""
    from composer.analysis.checks import analyse
    from composer.analysis.shapes import Shapes

    try:
        analysis = analyse(graph)
    except Exception as e:  # a bug in the checks must not close the editor: say so, and log it
        log.exception("analysing the graph failed")
        return Shapes(), [Diagnostic(ERROR, None, None, f"checking the graph failed: {e}")]
    return analysis.shapes, analysis.diagnostics


def connection_problem(graph: Graph, shapes, src: str, src_port: str, dst: str,
                       dst_port: str) -> str | None:
    """Why an edge src.src_port -> dst.dst_port cannot be drawn, or None when it can."""
    from composer.analysis.wiring import connection_problem as problem

    return problem(graph, src, src_port, dst, dst_port, shapes)
