"""Shape inference and checks for the editor, and whether a wire may be drawn.

composer.checks and composer.wiring are imported on first use: torch and networkx load after
the window is up, never at start-up.
"""

from __future__ import annotations

import logging

from composer.diagnostics import ERROR, Diagnostic
from composer.graph import Graph

log = logging.getLogger(__name__)


def analyse(graph: Graph):
    """(Shapes, diagnostics) of the graph. A failure of the analysis itself becomes an error
    diagnostic, so the editor never shows a stale or silently empty result as clean."""
    from composer.checks import check
    from composer.shapes import Shapes, infer

    try:
        shapes = infer(graph)
    except Exception as e:  # a bug in inference must not close the editor
        log.exception("shape inference failed")
        return Shapes(), [Diagnostic(ERROR, None, None, f"shape inference failed: {e}")]
    try:
        return shapes, check(graph, shapes)
    except Exception as e:
        log.exception("checks failed")
        return shapes, [Diagnostic(ERROR, None, None, f"checking the graph failed: {e}")]


def connection_problem(graph: Graph, shapes, src: str, src_port: str, dst: str,
                       dst_port: str) -> str | None:
    """Why an edge src.src_port -> dst.dst_port cannot be drawn, or None when it can."""
    from composer.wiring import connection_problem as problem

    return problem(graph, src, src_port, dst, dst_port, shapes)
