"""Making networks from nodes and unpacking them again, each one undo step of the Document.

The plans are worked out on the graph as it is (nothing changes until the Document pushes the
commands), as gui.editing does for the clipboard; the commands then call graph mutators only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtGui import QUndoCommand

from composer.errors import ComposerError, GraphFormatError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Node
from composer.names import fresh_name
from composer.networks import (
    INNER_CATEGORIES,
    NAME,
    PREFIX,
    SEPARATOR,
    Network,
    inner_overrides,
    instance_values,
    network_name,
    split_ref,
    uses,
)
from gui import commands, levels
from gui.editing import has_weights, id_stem

MARGIN = 40.0  # where a network's inner nodes start


class Refused(ComposerError):
    """A network edit that cannot be done as asked; the message says why and what to do."""


@dataclass
class Plan:
    """What an edit adds, removes and rewires on the shown level."""

    removed: list[str] = field(default_factory=list)
    added: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # group id -> new members
    retied: dict[str, str | None] = field(default_factory=dict)  # node id -> what it shares


def name_problem(graph: Graph, name: str) -> str | None:
    """Why `name` cannot name a new network of the graph, or None."""
    if not NAME.match(name):
        return (f"\"{name}\" is not a network name: it becomes a class name, so start with a "
                "capital letter and use letters, digits and _")
    if name in graph.networks:
        return f"the file already has a network {name}"
    return None


def suggested_name(graph: Graph) -> str:
    return fresh_name("Network", graph.networks.__contains__)


# --- making a network ---------------------------------------------------------------------------
def make_network(doc, node_ids: list[str], name: str) -> str | None:
    """Replaces nodes of the shown level by one instance of a new network that holds them;
    returns the instance's id. Wires that cross the selection become the network's inputs
    and outputs, named after the inner ports; group memberships go to the instance."""
    if not doc._editable():
        return None
    problem = name_problem(doc.graph, name)
    if problem:
        raise Refused(problem)
    doc.analyse_now()  # group members inside instances are read from a current analysis
    network, plan = _network_plan(doc, [n for n in doc.level.nodes if n in set(node_ids)],
                                  name)
    doc.push(f"Make network {name}",
             [commands.AddNetwork(doc.graph, network), *_steps(doc, plan)])
    return plan.added[0].id


def _network_plan(doc, chosen: list[str], name: str) -> tuple[Network, Plan]:
    level = doc.level
    _refuse_outsiders(level, chosen)
    inside = set(chosen)
    inner = Graph(name)
    corner = _corner(level, chosen)
    for node_id in chosen:
        node = copy.deepcopy(level.nodes[node_id])
        x, y = _pos(level, node_id)
        node.ui["pos"] = [round(x - corner[0] + MARGIN, 1), round(y - corner[1] + MARGIN, 1)]
        inner.nodes[node_id] = node
    inner.edges = [e for e in level.edges if e.src in inside and e.dst in inside]
    network = Network(name, inner)
    instance = Node(level.unique_id(id_stem(PREFIX + name)), PREFIX + name,
                    ui={"pos": [round(corner[0], 1), round(corner[1], 1)]})
    plan = Plan(removed=chosen, added=[instance])
    into = [e for e in level.edges if e.src not in inside and e.dst in inside]
    out = [e for e in level.edges if e.src in inside and e.dst not in inside]
    for source in dict.fromkeys(e.source for e in into):
        refs = [e.target for e in into if e.source == source]
        port = port_name(network.inputs, split_ref(refs[0])[1])
        network.inputs[port] = refs
        plan.edges.append(Edge(*split_ref(source), instance.id, port))
    for ref in _unwired_inputs(level, chosen):
        network.inputs[port_name(network.inputs, split_ref(ref)[1])] = [ref]
    for source in dict.fromkeys(e.source for e in out) or _loose_outputs(level, chosen):
        port = port_name(network.outputs, split_ref(source)[1])
        network.outputs[port] = source
        plan.edges.extend(Edge(instance.id, port, e.dst, e.dst_port) for e in out
                          if e.source == source)
    plan.groups = _groups_into(doc, chosen, instance.id)
    return network, plan


def _refuse_outsiders(level: Graph, chosen: list[str]) -> None:
    """Data and loss nodes stay on the top level; a tie cannot cross the network's edge."""
    if not chosen:
        raise Refused("select the nodes to make a network of")
    for node_id in chosen:
        t = level.type_of(level.nodes[node_id])
        category = t.category if t is not None else "unknown"
        if category not in (*INNER_CATEGORIES, "network"):
            raise Refused(f"{node_id} is a {category} node: a network holds layer, block, merge "
                          "and op nodes and instances; data and losses stay outside it")
    inside = set(chosen)
    for node in level.nodes.values():
        if node.shares is not None and (node.id in inside) != (node.shares in inside):
            raise Refused(f"{node.id} shares the weights of {node.shares}, which would end up "
                          "on the other side of the network's edge: select both, or untie it")


def _pos(level: Graph, node_id: str) -> tuple[float, float]:
    from gui.canvas.layout import missing_positions

    pos = level.nodes[node_id].ui.get("pos")
    return tuple(pos) if pos is not None else missing_positions(level).get(node_id, (0.0, 0.0))


def _corner(level: Graph, node_ids: list[str]) -> tuple[float, float]:
    spots = [_pos(level, n) for n in node_ids]
    return min(p[0] for p in spots), min(p[1] for p in spots)


def port_name(taken: dict, wanted: str) -> str:
    """A port named after the inner port it stands for, unique on its side; a name Python
    keeps for itself gets a trailing _ (`in` -> `in_`), as PEP 8 has it."""
    try:
        validate.identifier(wanted, "", "port")
    except GraphFormatError:
        wanted += "_"
    return fresh_name(wanted, taken.__contains__)


def _unwired_inputs(level: Graph, chosen: list[str]) -> list[str]:
    """Required inputs inside that nothing feeds: the instance takes them as inputs."""
    wired = {e.target for e in level.edges}
    found = []
    for node_id in chosen:
        t = level.type_of(level.nodes[node_id])
        for port in t.input_ports(level.params_of(node_id)) if t is not None else ():
            if not port.optional and f"{node_id}.{port.name}" not in wired:
                found.append(f"{node_id}.{port.name}")
    return found


def _loose_outputs(level: Graph, chosen: list[str]) -> list[str]:
    """Outputs nothing inside uses, when nothing outside does either: the last layers'."""
    used = {e.source for e in level.edges}
    found = []
    for node_id in chosen:
        t = level.type_of(level.nodes[node_id])
        outputs = t.output_ports(level.params_of(node_id)) if t is not None else ()
        found += [f"{node_id}.{p.name}" for p in outputs
                  if f"{node_id}.{p.name}" not in used]
    return found


def level_prefixes(doc) -> list[str]:
    """How the flat ids of every copy of the shown level start: "" at the top, else one
    prefix per instance of the opened network."""
    if not doc.trail or doc.analysis is None:
        return [""]
    name = doc.trail[-1].network
    return [p + SEPARATOR for p in levels.instances_of(doc.analysis.flat, name)]


def _groups_into(doc, chosen: list[str], instance: str) -> dict[str, list[str]]:
    """Group members that named the moved nodes now name the instance: the instance itself
    when they listed every moved node with weights, else paths into it."""
    weighted = {n for n in chosen if has_weights(doc.level, doc.level.nodes[n])}
    changed = {}
    for group in doc.graph.groups:
        members = list(group.members)
        for prefix in level_prefixes(doc):
            members = _rehome(members, prefix, set(chosen), weighted, instance)
        if members != group.members:
            changed[group.id] = members
    return changed


def _rehome(members: list[str], prefix: str, chosen: set[str], weighted: set[str],
            instance: str) -> list[str]:
    def moved(m: str) -> str | None:
        here = levels.owner(m, prefix) if isinstance(m, str) else None
        return here if here in chosen else None

    listed = {m[len(prefix):] for m in members if moved(m) == m[len(prefix):]}
    whole = weighted and weighted <= listed and all(
        moved(m) is None or m[len(prefix):] in listed for m in members)  # no deeper paths
    out = []
    for m in members:
        if moved(m) is None:
            out.append(m)
        elif whole:
            out.append(prefix + instance)
        else:
            out.append(f"{prefix}{instance}{SEPARATOR}{m[len(prefix):]}")
    return list(dict.fromkeys(out))


def _steps(doc, plan: Plan) -> Iterator[QUndoCommand]:
    level = doc.level
    for node_id in plan.removed:
        yield commands.RemoveNode(level, node_id)
    for node in plan.added:
        yield commands.AddNode(level, node)
    for edge in plan.edges:
        yield commands.Connect(level, edge)
    for group_id, members in plan.groups.items():
        yield commands.UpdateGroup(doc.graph, group_id, {"members": members})
    for node_id, shares in plan.retied.items():
        yield commands.SetShares(level, node_id, level.nodes[node_id].shares, shares)


# --- unpacking an instance -------------------------------------------------------------------
def unpack(doc, node_id: str) -> list[str]:
    """Replaces an instance by copies of the nodes inside it, wired as the instance was and
    set as its parameters set them; returns their ids."""
    if not doc._editable():
        return []
    network = levels.network_of(doc.level, node_id)
    if network is None:
        raise Refused(f"{node_id} is not a network instance: there is nothing to unpack")
    node = doc.level.nodes[node_id]
    if node.shares is not None:
        raise Refused(f"{node_id} shares the weights of {node.shares}, and nodes cannot share "
                      "weights with the inside of an instance: untie it first")
    doc.analyse_now()
    plan = _unpack_plan(doc, node, network)
    doc.push(f"Unpack {node_id}", _steps(doc, plan))
    return [n.id for n in plan.added]


def _unpack_plan(doc, instance: Node, network: Network) -> Plan:
    level, inner = doc.level, network.graph
    overrides = inner_overrides(network, instance_values(network, instance))
    mapping: dict[str, str] = {}
    for inner_id in inner.nodes:
        mapping[inner_id] = level.unique_id(inner_id, [*mapping.values(), instance.id])
    corner = _corner(inner, list(inner.nodes)) if inner.nodes else (0.0, 0.0)
    x0, y0 = _pos(level, instance.id)
    plan = Plan(removed=[instance.id])
    for inner_id, node in inner.nodes.items():
        copied = copy.deepcopy(node)
        copied.id = mapping[inner_id]
        copied.params = _without_defaults(inner, node, {**node.params,
                                                        **overrides.get(inner_id, {})})
        copied.shares = mapping.get(node.shares) if node.shares is not None else None
        x, y = _pos(inner, inner_id)
        copied.ui["pos"] = [round(x - corner[0] + x0, 1), round(y - corner[1] + y0, 1)]
        plan.added.append(copied)
    for e in inner.edges:
        plan.edges.append(Edge(mapping[e.src], e.src_port, mapping[e.dst], e.dst_port))
    for e in level.edges:
        if e.dst == instance.id:
            plan.edges += [Edge(e.src, e.src_port, mapping[n], p) for n, p in
                           map(split_ref, network.inputs.get(e.dst_port, []))]
        elif e.src == instance.id and e.src_port in network.outputs:
            n, p = split_ref(network.outputs[e.src_port])
            plan.edges.append(Edge(mapping[n], p, e.dst, e.dst_port))
    plan.groups = _groups_out_of(doc, instance.id, mapping, plan.added)
    tied = [n.id for n in level.nodes.values() if n.shares == instance.id]
    plan.retied = {other: tied[0] for other in tied[1:]}
    if tied:
        plan.retied[tied[0]] = None
    return plan


def _without_defaults(inner: Graph, node: Node, params: dict) -> dict:
    """Only the values that differ from the type's defaults, as the file keeps them."""
    t = inner.type_of(node)
    defaults = {p.name: p.default for p in t.params} if t is not None else {}
    return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def _groups_out_of(doc, instance: str, mapping: dict[str, str],
                   added: list[Node]) -> dict[str, list[str]]:
    """The instance's group memberships go to the unpacked nodes that have weights; paths
    into it to the nodes they named."""
    weighted = [n.id for n in added if has_weights(doc.level, n)]
    changed = {}
    for group in doc.graph.groups:
        out = []
        for m in group.members:
            for prefix in level_prefixes(doc):
                here = levels.owner(m, prefix) if isinstance(m, str) else None
                if here != instance:
                    continue
                rest = m[len(prefix) + len(instance) + 1:]
                if not rest:
                    out += [prefix + n for n in weighted]
                else:
                    first, _, deeper = rest.partition(SEPARATOR)
                    out.append(prefix + mapping.get(first, first)
                               + (SEPARATOR + deeper if deeper else ""))
                break
            else:
                out.append(m)
        out = list(dict.fromkeys(out))
        if out != group.members:
            changed[group.id] = out
    return changed



# --- instances --------------------------------------------
def containment_problem(doc, type_id: str) -> str | None:
    """Why an instance of this type cannot go into the level shown: the network it would be
    in is, or is used by, the network it stands for."""
    name = network_name(type_id)
    if not doc.trail or name is None or name not in doc.graph.networks:
        return None
    here = doc.trail[-1].network
    if here in _used_by(doc.graph, name):
        return f"{name} uses {here}: an instance of it inside {here} would make {here} " \
               "contain itself"
    return None


def _used_by(graph: Graph, name: str) -> set[str]:
    found, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in graph.networks and current not in found:
            found.add(current)
            todo += uses(graph.networks[current])
    return found


