"""The GUI-only state a file carries (`ui` keys), made safe to draw.

The file format keeps `ui` values as they come: they never change what trains. The canvas,
though, places nodes at `ui.pos` and paints groups in `ui.color`, and the Training panel
previews the outputs `ui.watch` lists; a value it cannot use (text for a position, a number too
large to draw, a colour that is not one, a watched output that is not "node.port" text) is
dropped when a graph is shown, so the node is laid out afresh, the group takes a palette colour
or the output is not watched, and the user is told. Nothing else in the graph changes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from composer.graph import Graph

MAX_COORDINATE = 1e7  # scene units; far beyond any real layout, well within what Qt draws


def usable_pos(value: Any) -> bool:
    """[x, y]: two finite numbers of a drawable size."""
    return (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            and all(abs(v) <= MAX_COORDINATE for v in value))  # NaN compares False


def usable_color(value: Any) -> bool:
    return isinstance(value, str) and QColor.isValidColorName(value)


def usable_ref(value: Any) -> bool:
    """`node.port`: text with a dot between two non-empty parts."""
    return isinstance(value, str) and all(value.partition(".")[::2])


def drop_unusable(graph: Graph) -> list[str]:
    """Removes the `ui` positions and colours the canvas cannot use; returns where they were
    (`node c1 ui.pos`), for a message."""
    dropped = []
    levels = [("", graph), *((f"{name}/", n.graph) for name, n in graph.networks.items())]
    for where, level in levels:  # the top, and each network's inside
        for node in level.nodes.values():
            if not isinstance(node.ui, dict):
                node.ui = {}
                dropped.append(f"node {where}{node.id} ui")
            elif "pos" in node.ui and not usable_pos(node.ui["pos"]):
                del node.ui["pos"]
                dropped.append(f"node {where}{node.id} ui.pos")
    watch = graph.ui.get("watch")
    if watch is not None:
        kept = [r for r in watch if usable_ref(r)] if isinstance(watch, list) else []
        if kept != watch:
            graph.ui["watch"] = kept
            dropped.append("ui.watch")
    for group in graph.groups:
        if not isinstance(group.ui, dict):
            group.ui = {}
            dropped.append(f"group {group.id} ui")
        elif "color" in group.ui and not usable_color(group.ui["color"]):
            del group.ui["color"]
            dropped.append(f"group {group.id} ui.color")
    return dropped
