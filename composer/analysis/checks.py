"""Every problem of a graph at once, as diagnostics that name the node (and port or parameter).

Structure is checked with networkx (cycles, reachability, gradient flow), shapes and dtypes by
`shapes.infer`. A graph may have been edited by a program or a widget, so nothing is assumed:
unknown nodes, ports, types and any parameter value are reported, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer import catalogue
from composer.analysis.datachecks import data_diagnostics
from composer.analysis.diagnostics import ERROR, HINT, WARNING, Diagnostic
from composer.analysis.flatten import Flat, flatten
from composer.analysis.group_checks import group_diagnostics
from composer.analysis.shapes import Shapes, edges_between_names, infer
from composer.catalogue.base import Port
from composer.errors import GraphFormatError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Node
from composer.networks import SEPARATOR

if TYPE_CHECKING:  # networkx loads on the first check, not at start-up
    import networkx as nx


@dataclass
class Valid:
    """What the checks found valid, normalised: what code generation builds from."""

    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> resolved params
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # optimizer, schedule, ...
    training: dict[str, Any] = field(default_factory=dict)  # epochs, seed, steps_per_epoch, ...


@dataclass
class Analysis:
    """A graph analysed once: every problem, the inferred shapes and what is valid."""

    diagnostics: list[Diagnostic]
    shapes: Shapes
    valid: Valid
    flat: Flat  # the graph seen through its network instances: what was analysed

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return self.valid.params

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def analyse(graph: Graph, shapes: Shapes | None = None, headers: bool = True) -> Analysis:
    """The graph's problems in file order (nodes, then groups, then the whole graph), with
    its shapes and parameters. `shapes` may be passed when already inferred for this graph
    (its flat form, when it has network instances). `headers` False counts the files of
    an image folder without reading each one's header (see data_diagnostics).

    A graph with network instances is analysed through them (see flatten.py): node ids in
    the diagnostics, shapes and params are then paths such as `d_real/fc1`."""
    flat = flatten(graph)
    found = weights_diagnostics(graph, flat)
    graph = flat.graph
    valid = Valid()
    params = valid.params
    found += list(flat.problems) + structure_diagnostics(graph, valid)
    # A node with a bad parameter value gets no shape problems on top: its own is enough.
    broken = {d.node for d in found if d.is_error and d.param not in (None, "shares")}
    shapes = infer(graph, params) if shapes is None else shapes
    for p in shapes.problems:
        if p.node not in broken:
            found.append(Diagnostic(ERROR, p.node, p.port, p.message, p.param))
    found.extend(shared_module_diagnostics(graph, shapes, params))
    skip = broken | {p.node for p in shapes.problems}
    found.extend(data_diagnostics(graph, {n: p for n, p in params.items() if n not in skip},
                                  headers))
    return Analysis(_in_file_order(graph, found), shapes, valid, flat)


def check(graph: Graph, shapes: Shapes | None = None) -> list[Diagnostic]:
    """All problems of `graph`, in file order (see `analyse`)."""
    return analyse(graph, shapes).diagnostics


def structure_diagnostics(graph: Graph, valid: Valid | None = None) -> list[Diagnostic]:
    """Everything that needs no shapes: nodes, parameters, ties, wires, cycles and groups.
    What is valid goes, normalised, into `valid`."""
    found: list[Diagnostic] = []
    valid = Valid() if valid is None else valid
    params = valid.params
    for node in graph.nodes.values():
        found.extend(node_diagnostics(graph, node, params))
    found.extend(edge_diagnostics(graph, params))
    found.extend(training_diagnostics(graph, valid))
    dag = _digraph(graph)
    found.extend(cycle_diagnostics(graph, dag))
    found.extend(group_diagnostics(graph, dag, valid.groups))
    return found


_SEVERITY_RANK = {ERROR: 0, WARNING: 1, HINT: 2}


def _in_file_order(graph: Graph, found: list[Diagnostic]) -> list[Diagnostic]:
    """Stable sort: by node in file order, then groups in file order, then the graph; errors
    before warnings before hints on each."""
    rank = {n: i for i, n in enumerate(graph.nodes)}
    for i, g in enumerate(graph.groups):
        rank.setdefault(g.id, len(graph.nodes) + i)
    last = len(graph.nodes) + len(graph.groups)
    return sorted(found, key=lambda d: (rank.get(d.node, last) if d.node is not None else last,
                                        _SEVERITY_RANK.get(d.severity, 3)))


def _digraph(graph: Graph) -> nx.DiGraph:
    """Nodes in file order; an edge for every wire between two existing nodes."""
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from((e.src, e.dst) for e in edges_between_names(graph)
                       if e.src in graph.nodes and e.dst in graph.nodes)
    return dag


# --- nodes and parameters ---------------------------------------------------------------------

def training_diagnostics(graph: Graph, valid: Valid | None = None) -> list[Diagnostic]:
    """Training settings as loading would refuse them (a program may have set anything);
    valid ones go into `valid`."""
    try:
        clean = validate.training_fields(graph.training.to_dict())
    except GraphFormatError as e:
        return [Diagnostic(ERROR, None, None, f"{e.where}: {e.detail}")]
    if valid is not None:
        valid.training = clean
    return []


def node_diagnostics(graph: Graph, node: Node,
                     params: dict[str, dict[str, Any]] | None = None) -> list[Diagnostic]:
    """Id, type, every parameter validated as loading would, and `shares`; the node's
    resolved parameters go into `params` when they are valid."""
    found = []
    try:
        for part in str(node.id).split(SEPARATOR):  # a path inside instances, each an id
            validate.node_id(part)
    except GraphFormatError as e:
        found.append(Diagnostic(ERROR, node.id, None, e.detail))
    t = catalogue.get(node.type)
    if t is None:
        hint = catalogue.suggest_types(str(node.type))
        found.append(Diagnostic(ERROR, node.id, None, f"unknown node type \"{node.type}\"{hint}"))
        return found
    if not isinstance(node.params, dict):
        return [*found, Diagnostic(ERROR, node.id, None, "params must be an object of name: "
                                   f"value, got {type(node.params).__name__}")]
    clean = {}
    for name, value in node.params.items():  # each on its own: every problem, not the first
        try:
            clean |= validate.node_params(t, {name: value}, "")
        except GraphFormatError as e:
            where = e.where.lstrip(".")  # `init.std`: the param is `init`
            found.append(Diagnostic(ERROR, node.id, None, f"{where}: {e.detail}",
                                    where.split(".", 1)[0]))
    if params is not None and len(clean) == len(node.params):
        params[node.id] = t.resolve(clean)
    found.extend(_shares_diagnostics(graph, node))
    return found


def _shares_diagnostics(graph: Graph, node: Node) -> list[Diagnostic]:
    """A tie must point at another node of the same type and parameters, never at a tie."""
    if node.shares is None:
        return []

    def problem(message: str) -> list[Diagnostic]:
        return [Diagnostic(ERROR, node.id, None, message, "shares")]

    other = graph.nodes.get(node.shares) if isinstance(node.shares, str) else None
    if other is None:
        return problem(f"shares \"{node.shares}\", which is not a node"
                       f"{validate.suggest(str(node.shares), list(graph.nodes))}")
    if other is node:
        return problem("shares itself: clear shares, or name the node whose weights it uses")
    t = node.node_type
    if t.module is None:
        return problem(f"shares {other.id}, but a {t.id} has no weights to share: clear shares")
    if other.type != node.type:
        return problem(f"shares {other.id}, a {other.type}, but is a {node.type}: tied weights "
                       "need the same type")
    if other.shares is not None:
        return problem(f"shares {other.id}, which itself shares {other.shares}: make "
                       f"{node.id} share {other.shares} directly")
    if not isinstance(other.params, dict):
        return []  # reported on the other node
    mine, theirs = node.resolved_params(), other.resolved_params()
    differ = [n for n in mine if mine[n] != theirs.get(n)]
    if differ:
        what = ", ".join(f"{n} is {mine[n]!r} here but {theirs.get(n)!r} there" for n in differ)
        return problem(f"shares {other.id} but {what}: tied weights need the same parameters; "
                       f"copy them from {other.id}")
    return []


def weights_diagnostics(graph: Graph, flat: Flat) -> list[Diagnostic]:
    """A weights key must be valid, on a node or instance that has weights of its own (not
    shared from another node): what would the file load into otherwise?"""
    found = []
    for node in graph.nodes.values():
        if node.weights is None:
            continue
        try:
            validate.weights(node.weights)
        except GraphFormatError as e:
            found.append(Diagnostic(ERROR, node.id, None, f"{e.where}: {e.detail}", "weights"))
            continue
        nodes = flat.graph.nodes
        inside = [nodes[n] for n in flat.members(node.id) if n in nodes]
        if not any(n.node_type is not None and n.node_type.module is not None for n in inside):
            found.append(Diagnostic(ERROR, node.id, None, "has a weights file but no weights to "
                                    "load it into: remove weights", "weights"))
        elif node.shares is not None:
            found.append(Diagnostic(ERROR, node.id, None, f"shares {node.shares}'s weights, so "
                                    f"a weights file belongs on {node.shares}: move it there",
                                    "weights"))
    return found


def shared_module_diagnostics(graph: Graph, shapes: Shapes,
                              params: dict[str, dict[str, Any]]) -> list[Diagnostic]:
    """Tied nodes must build one module: their inputs must have the sizes it was made for."""
    found = []
    for node in graph.nodes.values():
        t = node.node_type
        other = graph.nodes.get(node.shares) if isinstance(node.shares, str) else None
        if t is None or t.module is None or other is None or other.type != node.type:
            continue
        mine, theirs = shapes.inputs.get(node.id), shapes.inputs.get(other.id)
        if mine is None or theirs is None or node.id not in params:
            continue  # (parameters already reported)
        own = params[node.id]
        same = (t.module(own, {p: i.shape for p, i in mine.items()})
                == t.module(own, {p: i.shape for p, i in theirs.items()}))
        if not same:
            arrived = ", ".join(f"{p} is {i}" for p, i in mine.items())
            there = ", ".join(f"{p} is {i}" for p, i in theirs.items())
            found.append(Diagnostic(ERROR, node.id, None, (
                f"shares {other.id}, but here {arrived} while at {other.id} {there}: one "
                "module cannot take both; tied weights need inputs of the same size"),
                "shares"))
    return found


# --- wires and cycles -------------------------------------------------------------------------

def _ports(graph: Graph, params: dict[str, dict[str, Any]]
           ) -> dict[str, tuple[list[str], list[Port]] | None]:
    """Each node's output names and input ports, worked out once; None for a node of an
    unknown type or with invalid parameters (both reported with the node)."""
    return {node_id: ([p.name for p in node.node_type.output_ports(params[node_id])],
                      list(node.node_type.input_ports(params[node_id])))
            if node_id in params else None
            for node_id, node in graph.nodes.items()}


def _wire_end_problem(graph: Graph, ports: dict, e: Edge, output: bool) -> Diagnostic | None:
    node_id, port = (e.src, e.src_port) if output else (e.dst, e.dst_port)
    side = "output" if output else "input"
    if node_id not in graph.nodes:
        other, other_port = (e.dst, e.dst_port) if output else (e.src, e.src_port)
        if other not in graph.nodes:
            return Diagnostic(ERROR, None, None, f"wire {e} joins two nodes that do not exist")
        way = "from" if output else "to"
        return Diagnostic(ERROR, other, other_port, f"{other_port} is wired {way} {node_id}."
                          f"{port}, but there is no node {node_id}: remove that wire")
    if ports[node_id] is None:
        return None
    names = ports[node_id][0] if output else [p.name for p in ports[node_id][1]]
    if port in names:
        return None
    t = graph.nodes[node_id].node_type
    fix = "remove that wire"
    if not output and t.param("inputs") and port.startswith("in") and port[2:].isdigit():
        fix += f" or set inputs to {int(port[2:]) + 1}"
    declared = t.output_port(port) if output else None
    if declared is not None and declared.needs is not None:
        fix += f" or set {declared.needs}"
    return Diagnostic(ERROR, node_id, port, f"{t.id} {node_id} has no {side} port {port} (its "
                      f"{side}s: {', '.join(names) or 'none'}); wire {e}: {fix}")


def edge_diagnostics(graph: Graph, params: dict[str, dict[str, Any]]) -> list[Diagnostic]:
    """Wires to unknown nodes or ports, inputs wired twice, required inputs left unwired."""
    named = edges_between_names(graph)
    found = []
    if len(named) < len(graph.edges):
        ok = {id(e) for e in named}
        found = [Diagnostic(ERROR, None, None, f"wire {e!r} has an end that is not a name: "
                            "remove it") for e in graph.edges if id(e) not in ok]
    ports = _ports(graph, params)
    into: dict[tuple[str, str], list[Edge]] = {}
    for e in named:
        problems = [_wire_end_problem(graph, ports, e, output=True),
                    _wire_end_problem(graph, ports, e, output=False)]
        found.extend(p for p in problems if p is not None)
        into.setdefault((e.dst, e.dst_port), []).append(e)
    for (dst, port), edges in into.items():
        if len(edges) > 1 and dst in graph.nodes:
            sources = " and ".join(e.source for e in edges)
            found.append(Diagnostic(ERROR, dst, port, f"{port} is wired {len(edges)} times "
                                    f"(from {sources}); an input takes one wire: remove all "
                                    "but one"))
    for node_id, known in ports.items():
        for port in known[1] if known else ():
            if not port.optional and (node_id, port.name) not in into:
                takes = f" (it takes {port.doc})" if port.doc else ""
                found.append(Diagnostic(ERROR, node_id, port.name,
                                        f"input {port.name} is not wired{takes}"))
    return found


def cycle_diagnostics(graph: Graph, dag: nx.DiGraph) -> list[Diagnostic]:
    """One error per cycle, on its first node in file order, naming every node on it."""
    import networkx as nx

    rank = {n: i for i, n in enumerate(graph.nodes)}
    found = []
    for component in nx.strongly_connected_components(dag):
        first = min(component, key=rank.__getitem__)
        if len(component) == 1 and not dag.has_edge(first, first):
            continue
        cycle = [u for u, _ in nx.find_cycle(dag.subgraph(component), source=first)]
        path = " -> ".join([*cycle, cycle[0]])
        found.append(Diagnostic(ERROR, first, None, f"on a cycle: {path}; data cannot flow in "
                                "a loop: remove one of these wires"))
    return sorted(found, key=lambda d: rank[d.node])

