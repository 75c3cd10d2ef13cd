"""A graph with network instances, seen through: every instance replaced by its inner nodes.

Checks, shape inference and the training plan work on the flat graph, where an inner node's id
is its path (`d_real/fc1`), so a diagnostic inside an instance names the path, and shapes are
inferred per instance. Code generation reads the instances back from `Flat` to write one
class per network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.analysis.diagnostics import ERROR, Diagnostic
from composer.graph import Edge, Graph, Group, Node
from composer.networks import SEPARATOR, Network, inner_overrides, instance_values, network_name


@dataclass
class Instance:
    """One instance node, anywhere: its path, network, params, and what it is tied to."""

    path: str
    network: Network
    values: dict
    shares: str | None  # path of the instance it shares every weight with


@dataclass
class Flat:
    graph: Graph  # no instance nodes; the graph itself when it has none
    instances: dict[str, Instance] = field(default_factory=dict)  # path -> instance
    inputs: dict[str, list[str]] = field(default_factory=dict)  # "path.port" -> flat inputs
    outputs: dict[str, str] = field(default_factory=dict)  # "path.port" -> flat output
    problems: list[Diagnostic] = field(default_factory=list)

    def output(self, ref: str) -> str:
        """The flat "node.port" an output ("node.port", an instance's port too) comes from."""
        return self.outputs.get(ref, ref)

    def members(self, member: str) -> list[str]:
        """The flat nodes a group member stands for: a node, or every node with weights
        inside an instance or a path into one."""
        if member in self.graph.nodes or SEPARATOR not in member and member not in {
                path.split(SEPARATOR, 1)[0] for path in self.instances}:
            return [member]
        prefix = member + SEPARATOR
        return [n for n, node in self.graph.nodes.items() if n.startswith(prefix)
                and node.node_type is not None and node.node_type.module is not None]

    def owner(self, flat_id: str) -> str:
        """The top-level node a flat node belongs to (itself, or its outermost instance)."""
        return flat_id.split(SEPARATOR, 1)[0]


def has_instances(graph: Graph) -> bool:
    return any(network_name(n.type) is not None for n in graph.nodes.values())


def flatten(graph: Graph) -> Flat:
    """The graph with every instance (nested ones too) replaced by its inner nodes."""
    if not has_instances(graph):
        return Flat(graph)
    flat = Flat(Graph(graph.name, graph.description))
    out = flat.graph
    out.training, out.ui, out.base_dir = graph.training, graph.ui, graph.base_dir
    _expand(graph, graph, "", {}, flat, ())
    _edges(graph, "", flat)
    _tie_instances(flat)
    for g in graph.groups:
        members = g.members
        if isinstance(members, list):  # anything else is reported by the checks
            members = list(dict.fromkeys(
                m for member in members
                for m in (flat.members(member) if isinstance(member, str) else [member])))
        out.groups.append(Group(g.id, members, g.losses, g.optimizer, g.schedule,
                                g.lr_schedule, g.clip_grad_norm, g.ui))
    return flat


def _expand(top: Graph, level: Graph, prefix: str, overrides: dict[str, dict], flat: Flat,
            chain: tuple[str, ...]) -> None:
    for node in level.nodes.values():
        path = prefix + str(node.id)
        name = network_name(node.type)
        shares = prefix + node.shares if isinstance(node.shares, str) else node.shares
        if name is None:
            params = node.params
            if isinstance(params, dict) and node.id in overrides:
                params = {**params, **overrides[node.id]}
            flat.graph.nodes[path] = Node(path, node.type, params, node.label, shares, node.ui)
            continue
        network = top.networks.get(name)
        if network is None:
            flat.problems.append(Diagnostic(ERROR, path, None, f"no network \"{name}\" in this "
                                            "file"))
            continue
        if name in chain:
            loop = " -> ".join((*chain[chain.index(name):], name))
            flat.problems.append(Diagnostic(ERROR, path, None,
                                            f"a network cannot contain itself: {loop}"))
            continue
        flat.problems.extend(_instance_problems(path, node, network))
        values = instance_values(network, node)
        values.update(overrides.get(node.id, {}))
        flat.instances[path] = Instance(path, network, values, shares)
        _expand(top, network.graph, path + SEPARATOR, inner_overrides(network, values), flat,
                (*chain, name))
        _edges(network.graph, path + SEPARATOR, flat)
        for port, refs in network.inputs.items():
            flat.inputs[f"{path}.{port}"] = [
                r for ref in refs for r in _inputs_of(flat, path + SEPARATOR + ref)]
        for port, ref in network.outputs.items():
            flat.outputs[f"{path}.{port}"] = flat.output(path + SEPARATOR + ref)


def _instance_problems(path: str, node: Node, network: Network) -> list[Diagnostic]:
    """What only the instance node itself can get wrong: its params' names, its tie's form
    (values are checked on the inner nodes they set, where they apply)."""
    found = []
    if not isinstance(node.params, dict):
        found.append(Diagnostic(ERROR, path, None, "params must be an object of "
                                f"{network.name}'s parameters"))
    else:
        for key in node.params:
            if key not in network.params:
                known = ", ".join(network.params) or "none"
                found.append(Diagnostic(ERROR, path, None, f"{network.name} has no parameter "
                                        f"{key!r} (it takes: {known})", str(key)))
    if node.shares is not None and not isinstance(node.shares, str):
        found.append(Diagnostic(ERROR, path, None, "shares must name another instance of "
                                f"{network.name}", "shares"))
    return found


def _inputs_of(flat: Flat, ref: str) -> list[str]:
    return flat.inputs.get(ref, [ref])


def _edges(level: Graph, prefix: str, flat: Flat) -> None:
    """A level's wires between flat nodes: into an instance means into the inner ports its
    input feeds; out of one, out of the inner port its output gives."""
    for e in level.edges:
        source = flat.output(f"{prefix}{e.source}")
        src, _, src_port = source.rpartition(".")
        for target in _inputs_of(flat, f"{prefix}{e.target}"):
            dst, _, dst_port = target.rpartition(".")
            flat.graph.edges.append(Edge(src, src_port, dst, dst_port))


def _tie_instances(flat: Flat) -> None:
    """An instance that shares another shares each weighted inner node with the node at the
    same place in the other (the checks then hold them to the same types and sizes)."""
    nodes = flat.graph.nodes
    for inst in flat.instances.values():
        if inst.shares is None or not isinstance(inst.shares, str):
            continue
        other = flat.instances.get(inst.shares)
        if other is None or other.network is not inst.network:
            what = ("is not an instance" if other is None
                    else f"is an instance of {other.network.name}")
            flat.problems.append(Diagnostic(
                ERROR, inst.path, None, f"shares {inst.shares}, which {what}; a tied instance "
                f"shares another instance of {inst.network.name}", "shares"))
            continue
        prefix = inst.path + SEPARATOR
        for path, node in nodes.items():
            if not path.startswith(prefix) or node.node_type is None:
                continue
            if node.node_type.module is None:
                continue
            root = other.path + SEPARATOR + path[len(prefix):]
            while root in nodes and nodes[root].shares is not None:
                root = nodes[root].shares
            if root in nodes:
                node.shares = root
