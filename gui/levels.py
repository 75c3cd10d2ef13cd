"""One level of the graph as the editor shows it: the top level, or the inside of a network
seen through one of its instances.

The analysis works on the flat graph, where an inner node's id is its path (`d_real/fc1`). The
canvas, the inspector and the wire checks work on one level's own ids, so its results are
re-keyed here: an instance node gets the shapes of the inner ports its ports stand for and the
parameter count of everything inside it; a problem inside an instance goes to the instance,
its message naming the inner path. Nothing here imports Qt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from composer.analysis.diagnostics import Diagnostic
from composer.analysis.flatten import Flat
from composer.analysis.shapes import Shapes, topological_order
from composer.graph import Graph
from composer.networks import SEPARATOR, Network, network_name

ARROW = " \u2192 "


def owner(path: str, prefix: str) -> str | None:
    """The node of the level whose flat ids start with `prefix` that a flat path lies in
    (itself, or the instance holding it); None when the path lies elsewhere."""
    if not path.startswith(prefix):
        return None
    return path[len(prefix):].split(SEPARATOR, 1)[0]


def _split(ref: str) -> tuple[str, str]:
    node, _, port = ref.rpartition(".")
    return node, port


def level_shapes(shapes: Shapes, flat: Flat, level: Graph, prefix: str) -> Shapes:
    """The shapes, inputs and parameter counts of the level's own nodes, keyed by their ids.
    An instance's parameter count is everything inside it (zero when it is tied: its weights
    are counted where they live)."""
    if not prefix and not flat.instances:
        return shapes  # a graph without networks: flat ids are the level's ids
    out = Shapes(problems=shapes.problems)
    for (node, port), info in shapes.outputs.items():
        if owner(node, prefix) == node[len(prefix):]:
            out.outputs[(node[len(prefix):], port)] = info
    for node, ports in shapes.inputs.items():
        if owner(node, prefix) == node[len(prefix):]:
            out.inputs[node[len(prefix):]] = ports
    for node, count in shapes.param_counts.items():
        here = owner(node, prefix)
        if here is not None:
            out.param_counts[here] = out.param_counts.get(here, 0) + count
    for node_id, node in level.nodes.items():
        if network_name(node.type) is not None:
            _instance_shapes(shapes, flat, prefix + node_id, node_id, out)
    return out


def _instance_shapes(shapes: Shapes, flat: Flat, path: str, node_id: str, out: Shapes) -> None:
    """An instance's ports take the shapes of the inner ports they stand for."""
    inst = flat.instances.get(path)
    if inst is None:
        return
    for port in inst.network.outputs:
        info = shapes.output(*_split(flat.output(f"{path}.{port}")))
        if info is not None:
            out.outputs[(node_id, port)] = info
    inputs = {}
    for port in inst.network.inputs:
        refs = flat.inputs.get(f"{path}.{port}", [])
        if refs:  # what arrives at the first inner port it feeds
            inner, inner_port = _split(refs[0])
            info = shapes.inputs.get(inner, {}).get(inner_port)
            if info is not None:
                inputs[port] = info
    out.inputs[node_id] = inputs
    out.param_counts.setdefault(node_id, 0)


def level_diagnostics(diagnostics: Iterable[Diagnostic], level: Graph,
                      prefix: str) -> list[Diagnostic]:
    """The problems of the level's nodes, each on the node it lies in; a problem inside an
    instance names its inner path (`fc1: ...`). On the top level, problems of groups and of
    the whole graph are kept as they are."""
    found = []
    for d in diagnostics:
        if d.node is None or d.node not in level.nodes and SEPARATOR not in d.node:
            if not prefix:
                found.append(d)  # a group's problem, or the graph's
            continue
        here = owner(d.node, prefix)
        if here is None or here not in level.nodes:
            continue
        inner = d.node[len(prefix) + len(here) + 1:]
        if not inner:
            found.append(dataclasses.replace(d, node=here) if prefix else d)
            continue
        port = instance_port(level, here, inner, d.port)
        found.append(dataclasses.replace(d, node=here, port=port, param=None,
                                         message=f"{inner}: {d.message}"))
    return found


def instance_port(level: Graph, node_id: str, inner: str, port: str | None) -> str | None:
    """The instance's input that feeds the inner node's port, if one does."""
    network = network_of(level, node_id)
    if network is None or port is None:
        return None
    ref = f"{inner}.{port}"
    return next((name for name, refs in network.inputs.items() if ref in refs), None)


def network_of(level: Graph, node_id: str) -> Network | None:
    """The network a node of the level is an instance of (None for any other node)."""
    node = level.nodes.get(node_id)
    name = network_name(node.type) if node is not None else None
    return level.networks.get(name) if name is not None else None


def exposed_ports(graph: Graph, node_id: str) -> dict[tuple[bool, str], str]:
    """For a node inside a network (`graph` being its inside): which of its ports are the
    network's own, (output?, port) -> the network's port name."""
    network = next((n for n in graph.networks.values() if n.graph is graph), None)
    if network is None:
        return {}
    found = {(False, ref.partition(".")[2]): name for name, refs in network.inputs.items()
             for ref in refs if ref.partition(".")[0] == node_id}
    found |= {(True, ref.partition(".")[2]): name for name, ref in network.outputs.items()
              if ref.partition(".")[0] == node_id}
    return found


def instances_of(flat: Flat, name: str) -> list[str]:
    """The paths of every instance of the network, nested ones too, in file order."""
    return [path for path, inst in flat.instances.items() if inst.network.name == name]


def inside_summary(network: Network, limit: int = 3) -> str:
    """What an instance holds, in a few words: `5 nodes: flatten → linear → …`, the inner
    nodes' kinds in the order data flows through them (an instance by its network's name)."""
    inner = network.graph
    order = topological_order(inner)
    order += [n for n in inner.nodes if n not in order]  # on a cycle: reported elsewhere
    kinds = []
    for node in (inner.nodes[n] for n in order):
        name = network_name(node.type)
        kinds.append(name if name is not None else node.type.split(".", 1)[-1])
    count = f"{len(kinds)} node{'' if len(kinds) == 1 else 's'}"
    if not kinds:
        return count
    shown = kinds[:limit] + (["\u2026"] if len(kinds) > limit else [])
    return f"{count}: {ARROW.join(shown)}"
