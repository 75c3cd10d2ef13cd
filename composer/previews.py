"""The graph's side of previews: which outputs a file watches, which can be watched, and which
image a watched box output belongs on. What computes them is composer.runtime.previews.

The watch list is GUI state: the file keeps it as `"ui": {"watch": ["node.port", ...]}`, and
it never changes what trains.
"""

from __future__ import annotations

import difflib
from typing import Any

from composer.graph import Graph

WATCH_KEY = "watch"  # in the graph's top-level ui


def watched(graph: Graph) -> list[str]:
    """The file's watch list as written, each output once; entries that are not text are left
    out (the file format lets `ui` hold anything)."""
    value = graph.ui.get(WATCH_KEY, [])
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(ref for ref in value if isinstance(ref, str)))


def watchable(graph: Graph) -> list[str]:
    """Every output port of the graph's top-level nodes, "node.port" in file order: data
    ports, layers, network instances and losses (whose value is a number)."""
    refs = []
    for node in graph.nodes.values():
        t = graph.type_of(node)
        if t is not None:
            refs += [f"{node.id}.{p.name}" for p in t.output_ports(graph.params_of(node.id))]
    return refs


def usable(graph: Graph, refs: list[str]) -> list[str]:
    """The refs that name an output of this graph (a watched node may have been deleted)."""
    outputs = set(watchable(graph))
    return [ref for ref in refs if ref in outputs]


def check_watch(graph: Graph, refs: list[str]) -> None:
    """ValueError naming the first ref that is no output of the graph, with the closest."""
    outputs = watchable(graph)
    for ref in refs:
        if ref not in outputs:
            close = difflib.get_close_matches(ref, outputs, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ValueError(f"no output {ref!r} to watch; {hint}choose from "
                             f"{', '.join(outputs)}")


def _kind(graph: Graph, node_id: str, port: str, output: bool) -> str | None:
    node = graph.nodes.get(node_id)
    t = graph.type_of(node) if node is not None else None
    if t is None:
        return None
    params = graph.params_of(node_id)
    found = t.output_port(port, params) if output else t.input_port(params, port)
    return found.kind if found is not None else None


def is_boxes(graph: Graph, ref: str) -> bool:
    """Whether an output carries boxes: its port says so, or it feeds an input that takes
    boxes (`op.roi_align`'s), or a loss scores it against boxes (the data's `box`); a node
    that only stops gradients (`op.detach`) passes boxes on."""
    node_id, _, port = ref.partition(".")
    if _kind(graph, node_id, port, True) == "boxes":
        return True
    for edge in graph.edges:
        if edge.source != ref or edge.dst not in graph.nodes:
            continue
        t = graph.type_of(graph.nodes[edge.dst])
        if t is None:
            continue
        if _kind(graph, edge.dst, edge.dst_port, False) == "boxes":
            return True
        if t.is_loss and any(_kind(graph, e.src, e.src_port, True) == "boxes"
                             for e in graph.edges_into(edge.dst) if e != edge):
            return True
        if t.stops_gradient and any(is_boxes(graph, f"{edge.dst}.{p.name}")
                                    for p in t.output_ports(graph.params_of(edge.dst))):
            return True
    return False


def box_image(graph: Graph, ref: str) -> str | None:
    """The image input boxes are drawn over: the nearest data port of feature maps upstream
    of the node that gives them (the boxes' own data node for a data port), or None."""
    if not is_boxes(graph, ref):
        return None
    seen: set[str] = set()
    todo = [ref.partition(".")[0]]
    while todo:
        node_id = todo.pop(0)
        if node_id in seen or node_id not in graph.nodes:
            continue
        seen.add(node_id)
        t = graph.type_of(graph.nodes[node_id])
        if t is not None and t.is_data:
            for p in t.output_ports(graph.params_of(node_id)):
                if p.kind == "map":
                    return f"{node_id}.{p.name}"
        todo += [e.src for e in graph.edges_into(node_id)]
    return None


def preview_plan(graph: Graph, refs: list[str]) -> dict[str, dict[str, Any]]:
    """For each watched output of the graph: `image`, the output its boxes are drawn over
    (or None)."""
    return {ref: {"image": box_image(graph, ref)} for ref in usable(graph, refs)}


def outputs_to_compute(plan: dict[str, dict[str, Any]]) -> list[str]:
    """The watched outputs and the images their boxes need, each once, in order."""
    refs = []
    for ref, how in plan.items():
        refs += [ref] + ([how["image"]] if how["image"] else [])
    return list(dict.fromkeys(refs))
