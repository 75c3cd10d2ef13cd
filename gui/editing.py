"""Plain helpers behind the Document's edits: validation, clipboard, group memberships.

Nothing here changes the graph; the Document turns what these compute into undo commands.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from composer import fileformat
from composer.catalogue.base import NodeType
from composer.errors import GraphFormatError, ParamError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Group, Node
from composer.networks import SEPARATOR, Network, network_name, uses


def validated(node_type: NodeType, name: str, value: Any) -> Any:
    """The normalised value of a parameter, as loading would have it, or ParamError saying
    what was expected."""
    try:
        return validate.node_params(node_type, {name: value}, "")[name]
    except GraphFormatError as e:  # the place inside the value (`std` of an init), if any
        raise ParamError(e.detail, e.where.lstrip(".").removeprefix(name).lstrip(".")) from e


def id_stem(type_id: str) -> str:
    """`layer.conv2d` -> `conv2d`, `net.BasicBlock` -> `basic_block`: new nodes are named
    after their type."""
    name = network_name(type_id)
    if name is not None:
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return type_id.rsplit(".", 1)[-1]


def has_weights(graph: Graph, node: Node) -> bool:
    """Whether the node builds a module (for an instance: whether anything inside does):
    only such a node can share weights."""
    name = network_name(node.type)
    if name is None:
        return node.node_type is not None and node.node_type.module is not None
    network = graph.networks.get(name)
    return network is not None and any(has_weights(network.graph, n)
                                       for n in network.graph.nodes.values())


def used_networks(graph: Graph, node_ids: list[str]) -> list[str]:
    """The networks the nodes are instances of, and those these use in turn: what a copy
    of the nodes needs to be read anywhere."""
    found: list[str] = []

    def visit(name: str) -> None:
        if name in graph.networks and name not in found:
            for inner in uses(graph.networks[name]):
                visit(inner)
            found.append(name)

    for node_id in node_ids:
        name = network_name(graph.nodes[node_id].type)
        if name is not None:
            visit(name)
    return found


# --- clipboard -------------------------------------------------------------------------------
def copy_nodes(graph: Graph, node_ids: list[str]) -> dict:
    """The nodes and the edges among them as plain file-format data (clipboard JSON), with
    the networks their instances need, so that they paste into another file too."""
    chosen = [n for n in graph.nodes if n in set(node_ids)]
    inside = set(chosen)
    data = {
        "nodes": [graph.nodes[n].to_dict(graph.type_of(graph.nodes[n])) for n in chosen],
        "edges": [e.to_dict() for e in graph.edges if e.src in inside and e.dst in inside],
    }
    networks = used_networks(graph, chosen)
    if networks:
        data["networks"] = {name: graph.networks[name].to_dict() for name in networks}
    return data


def paste_plan(graph: Graph, data: Any, offset: tuple[float, float],
               tied: bool = False) -> tuple[list[Node], list[Edge], list[Network]]:
    """Validated copies of clipboard data with fresh ids, moved by `offset`, and the networks
    they need that the graph lacks (a network it has by that name is used as it is).

    Tied copies share the module of the node they copy (or what that node shares); a copy of
    a node without weights (an activation, a flatten) is simply a copy. Otherwise
    a `shares` pointing inside the pasted set follows the copy; one pointing at a node still
    in the graph stays; any other is dropped. Raises GraphFormatError for data that is not a
    valid set of nodes.
    """
    if not isinstance(data, dict) or not isinstance(data.get("nodes", []), list):
        raise GraphFormatError("clipboard", "expected an object with a list of nodes")
    mapping: dict[str, str] = {}
    raw = []
    for obj in data.get("nodes", []):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise GraphFormatError("clipboard", f"not a node: {obj!r:.60}")
        stem = re.sub(r"_\d+$", "", obj["id"]) or "node"  # a copy of conv_2 is conv_3
        new_id = graph.unique_id(stem, mapping.values())
        mapping[obj["id"]] = new_id
        raw.append(copy.deepcopy(obj) | {"id": new_id, "shares": None})
    edges = []
    for obj in data.get("edges", []):
        src, _, src_port = str(obj.get("from", "")).partition(".")
        dst, _, dst_port = str(obj.get("to", "")).partition(".")
        if src in mapping and dst in mapping:
            edges.append({"from": f"{mapping[src]}.{src_port}", "to": f"{mapping[dst]}.{dst_port}"})
    networks = _networks_for(graph, data.get("networks", {}), raw)
    parsed = fileformat.from_dict({"format": fileformat.FORMAT_NAME, "version": 2,
                                   "networks": networks, "nodes": raw, "edges": edges})
    nodes = list(parsed.nodes.values())
    for obj, node in zip(data.get("nodes", []), nodes, strict=True):
        shares = obj.get("shares")
        tie = tied and has_weights(parsed, node)  # an activation or a flatten is simply copied
        if tie:
            shares = shares or obj["id"]
        if shares in mapping and not tie:
            node.shares = mapping[shares]
        elif shares in graph.nodes and graph.nodes[shares].type == node.type:
            node.shares = shares
        x, y = node.ui.get("pos", [0.0, 0.0])
        node.ui["pos"] = [round(x + offset[0], 1), round(y + offset[1], 1)]
    new = [n for name, n in parsed.networks.items() if name not in graph.networks]
    return nodes, list(parsed.edges), new


def _networks_for(graph: Graph, carried: Any, raw: list[dict]) -> dict[str, Any]:
    """The networks pasted instances need, as file data: the graph's own by each name, else
    the ones the clipboard carried."""
    if not isinstance(carried, dict):
        raise GraphFormatError("clipboard.networks", "expected an object of networks")
    wanted = [network_name(obj.get("type")) for obj in raw if isinstance(obj.get("type"), str)]
    if not any(wanted):
        return {}
    found = {name: n.to_dict() for name, n in graph.networks.items()}
    for name, obj in carried.items():
        found.setdefault(name, obj)
    return found


# --- groups ----------------------------------------------------------------------------------
def check_group_fields(graph: Graph, group: Group | None,
                       fields: dict[str, Any]) -> dict[str, Any]:
    """New group fields validated as loading a file would, normalised; raises
    GraphFormatError naming the group and the setting."""
    if group is None:
        raise KeyError("no such group")
    if "id" in fields:
        raise GraphFormatError(group.id, "a group's id cannot be changed")
    clean = {}
    for key in ("members", "losses"):
        if key not in fields:
            continue
        ids = fields[key]
        if not isinstance(ids, list) or any(not _names_node(graph, i, key == "members")
                                            for i in ids):
            raise GraphFormatError(f"{group.id}.{key}", f"expected a list of node ids, got "
                                   f"{validate.show(ids)}")
        clean[key] = list(ids)
    clean |= validate.group_fields(fields, group.id)
    if "ui" in fields:
        clean["ui"] = copy.deepcopy(fields["ui"])
    unknown = set(fields) - set(clean)
    if unknown:
        raise GraphFormatError(f"{group.id}.{min(unknown)}", "unknown key of a group")
    return clean


def membership_changes(graph: Graph, group_id: str, node_ids: list[str],
                       add: bool) -> list[tuple[str, dict[str, list[str]]]]:
    """(group id, new members/losses) for each group that changes.

    Added loss nodes join the group's losses (and leave any other group's, since a loss is
    minimised by one group); other nodes join its members.
    """
    group = graph.group(group_id)
    if group is None:
        raise KeyError(f"no group {group_id!r}")
    ids = [n for n in node_ids if _names_node(graph, n, paths=True)]
    types = {n: graph.type_of(graph.nodes[n]) if n in graph.nodes else None for n in ids}
    is_loss = {n: types[n] is not None and types[n].is_loss for n in ids}
    changes = []
    if add:
        members = group.members + [n for n in ids if not is_loss[n] and n not in group.members]
        losses = group.losses + [n for n in ids if is_loss[n] and n not in group.losses]
        for other in graph.groups:
            if other.id != group_id and set(other.losses) & set(losses):
                changes.append((other.id, {"losses": [x for x in other.losses
                                                      if x not in losses]}))
    else:
        members = [m for m in group.members if m not in ids]
        losses = [x for x in group.losses if x not in ids]
    if (members, losses) != (group.members, group.losses):
        changes.append((group_id, {"members": members, "losses": losses}))
    return changes


def reached_weights(graph: Graph, losses: list[str]) -> list[str]:
    """The nodes with weights that the losses' gradients reach, back along the wires and not
    through a node that stops them (op.detach), in file order; a tied node stands for the
    node whose weights it uses."""
    seen = graph.gradient_reach(losses)
    owners = {graph.nodes[n].shares or n for n in seen
              if n in graph.nodes and has_weights(graph, graph.nodes[n])}
    return [n for n in graph.nodes if n in owners]


def group_param_count(group: Group, param_counts: dict[str, int], flat) -> int:
    """Parameters the group's optimiser updates; a shared module counts once. `flat` is the
    analysed graph seen through its instances (composer.analysis.flatten.Flat), where a
    member that is an instance, or a path into one, stands for the nodes inside."""
    owners = set()
    for member in group.members:
        for m in flat.members(member) if isinstance(member, str) else ():
            node = flat.graph.nodes.get(m)
            if node is not None:
                owners.add(node.shares or node.id)
    return sum(param_counts.get(n, 0) for n in owners)


def _names_node(graph: Graph, ref: Any, paths: bool) -> bool:
    """A node id of the graph, or with `paths` a path into one of its instances."""
    if not isinstance(ref, str):
        return False
    first = ref.split(SEPARATOR, 1)[0] if paths else ref
    return first in graph.nodes and (first == ref or network_name(graph.nodes[first].type)
                                     is not None)
