"""Checks of what trains: optimiser groups, their losses and schedules, and gradient flow.

Gradient flows back along wires except through `op.detach`. A parameter is trained by the
groups that list its node (or the node it `shares`); a group learns from a loss only if the
loss's gradient reaches one of those parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer import schedules
from composer.analysis.diagnostics import ERROR, HINT, WARNING, Diagnostic
from composer.analysis.shapes import topological_order
from composer.errors import GraphFormatError
from composer.fileformat import validate
from composer.graph import Graph, Group, Node

if TYPE_CHECKING:  # networkx loads on the first check, not at start-up
    import networkx as nx


@dataclass
class _Roles:
    """What each node is, worked out once per check: which build a module (have weights),
    which are losses, and whose module each uses (the node it `shares`, else itself)."""

    graph: Graph
    weights: set[str] = field(default_factory=set)
    losses: dict[str, None] = field(default_factory=dict)  # in file order
    owner: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: Graph) -> _Roles:
        roles = cls(graph)
        for node_id, node in graph.nodes.items():
            t = node.node_type
            if t is not None and t.module is not None:
                roles.weights.add(node_id)
                shares = node.shares
                ok = isinstance(shares, str) and shares in graph.nodes
                roles.owner[node_id] = shares if ok else node_id
            if t is not None and t.is_loss:
                roles.losses[node_id] = None
        return roles

    def listed(self, ids: Iterable[str]) -> list[str]:
        """The ids of existing nodes in a members or losses list (which may hold anything)."""
        if not isinstance(ids, list | tuple):
            return []
        return [i for i in ids if isinstance(i, str) and i in self.graph.nodes]

    def owners(self, group: Group) -> set[str]:
        """The modules a group trains."""
        return {self.owner[m] for m in self.listed(group.members) if m in self.weights}


def group_diagnostics(graph: Graph, dag: nx.DiGraph,
                      settings: dict[str, dict[str, Any]] | None = None) -> list[Diagnostic]:
    """Every problem of the groups; each group whose settings are valid gets them, normalised,
    in `settings`."""
    roles = _Roles.of(graph)
    settings = {} if settings is None else settings
    found = []
    for group in graph.groups:
        found.extend(_settings(graph, group, settings))
        found.extend(_membership(roles, group))
    found.extend(_loss_ownership(roles))
    useful = _reaching_a_loss(roles, dag)
    found.extend(_frozen(roles, useful))
    found.extend(Diagnostic(WARNING, n, None, "reaches no loss: its output is never used in "
                            "training; wire it towards a loss or delete it",
                            code=Diagnostic.UNREACHED)
                 for n in graph.nodes if useful is not None and n not in useful)
    if useful is None and graph.nodes:
        found.append(Diagnostic(WARNING, None, None, "the graph has no loss node: nothing can "
                                "train; add a loss.* node and list it in a group's losses"))
    found.extend(_gradients(roles, dag))
    return found


def _names(ids: Iterable[str], limit: int = 4) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# --- settings and membership ------------------------------------------------------------------

def _settings(graph: Graph, group: Group, settings: dict[str, dict[str, Any]]
              ) -> list[Diagnostic]:
    clean, problems = validate.group_settings(group)
    found = [Diagnostic(ERROR, group.id, None, f"{e.where}: {e.detail}", e.where.split(".")[0])
             for e in problems]
    try:
        validate.group_id(group.id)
    except GraphFormatError as e:
        found.append(Diagnostic(ERROR, group.id, None, e.detail))
    if found:
        return found
    settings[group.id] = clean
    if group.optimizer.get("nesterov") and not group.optimizer.get("momentum"):
        found.append(Diagnostic(ERROR, group.id, None, "optimizer.nesterov needs a momentum "
                                "above 0: set momentum or turn nesterov off", "optimizer"))
    schedule = schedules.from_dict(group.schedule)
    never = schedules.never_runs_message(schedule, group.id)
    if never:
        found.append(Diagnostic(ERROR, group.id, None, never, "schedule"))
    first, epochs = schedule.epochs[0], graph.training.epochs
    if isinstance(epochs, int) and first >= epochs:
        found.append(Diagnostic(WARNING, group.id, None, (
            f"schedule starts at epoch {first} but training runs epochs 0 to {epochs - 1}: "
            f"group {group.id} never updates in this run"), "schedule"))
    return found


def _membership(roles: _Roles, group: Group) -> list[Diagnostic]:
    graph = roles.graph
    found = []
    for key in ("members", "losses"):
        items = getattr(group, key)
        if not isinstance(items, list | tuple):
            found.append(Diagnostic(ERROR, group.id, None, f"{key} must be a list of node "
                                    f"ids, got {type(items).__name__}", key))
            continue
        for item in items:
            if not isinstance(item, str) or item not in graph.nodes:
                found.append(Diagnostic(ERROR, group.id, None, f"{key} lists {item!r}, which "
                                        f"is not a node: remove it", key))
    for item in roles.listed(group.losses):
        if item not in roles.losses:
            found.append(Diagnostic(ERROR, group.id, None, (
                f"losses lists {item}, a {graph.nodes[item].type}, which is not a loss node; "
                "list it in members if the group should train it"), "losses"))
    members = roles.listed(group.members)
    if not group.members:
        found.append(Diagnostic(ERROR, group.id, None, f"group {group.id} has no members: add "
                                "the nodes whose parameters it should train", "members"))
    elif not any(m in roles.weights for m in members):
        found.append(Diagnostic(ERROR, group.id, None, (
            f"none of the members of group {group.id} ({_names(members)}) has parameters: "
            "it has nothing to train"), "members"))
    else:
        found.extend(Diagnostic(WARNING, m, None, f"is a member of group {group.id} but has "
                                "no parameters: nothing to train there; remove it from members")
                     for m in members if m not in roles.weights)
    if not group.losses:
        found.append(Diagnostic(ERROR, group.id, None, f"group {group.id} has no losses: add "
                                "the loss nodes it should minimise", "losses"))
    return found


def _loss_ownership(roles: _Roles) -> list[Diagnostic]:
    """Each loss node is listed by exactly one group (FORMAT: at most one; none trains nothing)."""
    listed: dict[str, list[str]] = {}
    for group in roles.graph.groups:
        for item in dict.fromkeys(roles.listed(group.losses)):
            listed.setdefault(item, []).append(group.id)
    found = []
    for node_id in roles.losses:
        groups = listed.get(node_id, [])
        if len(groups) > 1:
            found.append(Diagnostic(ERROR, node_id, None, (
                f"is listed in the losses of groups {_names(groups)}; a loss belongs to at "
                "most one group: to train both, wire a second loss node")))
        elif not groups:
            found.append(Diagnostic(WARNING, node_id, None, (
                "is in no group's losses: nothing minimises it (it is only evaluated on the "
                "validation split); list it in a group's losses")))
    return found


def _frozen(roles: _Roles, useful: set[str] | None) -> list[Diagnostic]:
    """Parameters in no group stay frozen: usually a forgotten member. (A node that reaches
    no loss is told so instead.)"""
    trained = set()
    for group in roles.graph.groups:
        trained |= roles.owners(group)
    return [Diagnostic(WARNING, n, None, "has parameters but is in no group's members: they "
                       "stay frozen at their initial values; add it to a group to train it")
            for n in roles.graph.nodes if n in roles.weights and roles.owner[n] not in trained
            and (useful is None or n in useful)]


def _reaching_a_loss(roles: _Roles, dag: nx.DiGraph) -> set[str] | None:
    """The loss nodes and every node upstream of one; None when the graph has no loss."""
    if not roles.losses:
        return None
    useful = set(roles.losses)
    todo = list(roles.losses)
    while todo:  # one walk up from all losses at once
        for parent in dag.predecessors(todo.pop()):
            if parent not in useful:
                useful.add(parent)
                todo.append(parent)
    return useful


# --- gradient flow ----------------------------------------------------------------------------

def _stops_gradient(graph: Graph, node_id: str) -> bool:
    t = graph.nodes[node_id].node_type
    return t is not None and t.stops_gradient


def _gradient_dag(graph: Graph, dag: nx.DiGraph) -> nx.DiGraph:
    """The wires gradient flows back along: all but those into an op.detach."""
    import networkx as nx

    grad = nx.DiGraph()
    grad.add_nodes_from(dag)
    grad.add_edges_from((u, v) for u, v in dag.edges if not _stops_gradient(graph, v))
    return grad


def _gradients(roles: _Roles, dag: nx.DiGraph) -> list[Diagnostic]:
    import networkx as nx

    graph = roles.graph
    grad = _gradient_dag(graph, dag)
    order = {n: i for i, n in enumerate(topological_order(graph))}
    trained_by: dict[str, list[str]] = {}
    for group in graph.groups:
        for owner in roles.owners(group):
            trained_by.setdefault(owner, []).append(group.id)
    found = []
    for group in graph.groups:
        owners = roles.owners(group)
        if not owners:
            continue
        for loss in dict.fromkeys(roles.listed(group.losses)):
            if loss not in roles.losses:
                continue
            upstream = nx.ancestors(grad, loss)
            if not any(roles.owner[n] in owners for n in upstream if n in roles.weights):
                found.append(_unreached(roles, dag, group, loss, owners))
            else:
                hint = _wasted(roles, grad, order, group, loss, upstream, trained_by)
                found.extend([hint] if hint else [])
    return found


def _unreached(roles: _Roles, dag: nx.DiGraph, group: Group, loss: str,
               owners: set[str]) -> Diagnostic:
    """A loss whose value its group's parameters cannot change, and why."""
    import networkx as nx

    graph = roles.graph
    before = nx.ancestors(dag, loss)
    stops = [n for n in graph.nodes if n in before and _stops_gradient(graph, n)
             and any(roles.owner[a] in owners for a in nx.ancestors(dag, n)
                     if a in roles.weights)]
    if stops:
        why = f"op.detach {_names(stops)} stops the gradient on the way"
    else:
        why = f"it depends on none of {group.id}'s members"
    return Diagnostic(ERROR, loss, None, (
        f"is a loss of group {group.id}, but {why}: {group.id} can never learn from it; wire "
        f"it from {group.id}'s nodes, or list it in the group that trains what it depends on"))


def _wasted(roles: _Roles, grad: nx.DiGraph, order: dict[str, int], group: Group, loss: str,
            upstream: set[str], trained_by: dict[str, list[str]]) -> Diagnostic | None:
    """A hint when the loss's gradient flows into parameters only other groups train, through
    a region no member of its own group lies above: an op.detach there saves the backward."""
    owners = roles.owners(group)
    mine: dict[str, bool] = {}  # a node of this group lies upstream (or is the node)
    other: dict[str, bool] = {}  # a node trained only by other groups lies upstream
    for n in sorted((n for n in upstream if n in order), key=order.__getitem__):
        owner = roles.owner.get(n)
        preds = list(grad.predecessors(n))
        mine[n] = owner in owners or any(mine.get(p, False) for p in preds)
        other[n] = (owner is not None and owner not in owners and owner in trained_by) or \
            any(other.get(p, False) for p in preds)
    region = {n for n in mine if not mine[n] and other[n]}
    if not region:
        return None
    nodes = roles.graph.nodes
    cuts = [_cut(roles, grad, n, s) for n in nodes if n in region
            for s in grad.successors(n) if s == loss or (s in upstream and s not in region)]
    wasted = [n for n in nodes if n in region and n in roles.weights
              and roles.owner[n] not in owners and roles.owner[n] in trained_by]
    others = sorted({g for n in wasted for g in trained_by[roles.owner[n]]})
    where = "; ".join(f"after {a} (on its wire to {b})" for a, b in dict.fromkeys(cuts))
    return Diagnostic(HINT, loss, None, (
        f"the gradient of {loss} also flows into {_names(wasted)}, which only group"
        f"{'s' if len(others) > 1 else ''} {_names(others)} train"
        f"{'' if len(others) > 1 else 's'}: an op.detach {where} saves that work, as in a "
        "GAN's discriminator step"))


def _is_data(node: Node) -> bool:
    t = node.node_type
    return t is not None and t.is_data


def _cut(roles: _Roles, grad: nx.DiGraph, src: str, dst: str) -> tuple[str, str]:
    """The wire to detach, moved back along a plain chain of weightless nodes: detaching
    `g_img -> flat` reads better than `flat -> fc`, and changes nothing else."""
    while (src not in roles.weights and grad.in_degree(src) == 1
           and grad.out_degree(src) == 1 and not _is_data(roles.graph.nodes[src])):
        src, dst = next(iter(grad.predecessors(src))), src
    return src, dst
