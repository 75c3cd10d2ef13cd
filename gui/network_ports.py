"""A network's own ports and what depends on its inside: edits made while it is open.

An inner port is made a port of the network, or taken off it with the wires instances had
there; deleting inner nodes takes along what named them (ports, the inner parameters its
params set, group members that were paths to them), in the same undo step.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QUndoCommand

from composer.errors import GraphFormatError
from composer.fileformat import validate
from composer.graph import Edge
from composer.networks import PREFIX, Network, NetworkParam, split_ref
from gui import commands, levels
from gui.network_edits import Refused, level_prefixes, port_name


def set_description(doc, name: str, text: str) -> None:
    """Sets a network's description (typed key by key: one undo step)."""
    if doc._editable() and doc.graph.networks[name].description != text:
        doc.undo_stack.push(commands.UpdateNetwork(doc.graph, name, {"description": text}))


def opened(doc) -> Network | None:
    """The network whose inside the canvas shows, if any."""
    return doc.graph.networks[doc.trail[-1].network] if doc.trail else None


def expose(doc, node_id: str, port: str, output: bool) -> str | None:
    """Makes an inner port a port of the opened network (named after it); returns the
    name. Every instance gets the port, to be wired."""
    network = opened(doc)
    if network is None or not doc._editable():
        return None
    ref = f"{node_id}.{port}"
    if output:
        name = port_name(network.outputs, port)
        fields = {"outputs": {**network.outputs, name: ref}}
    else:
        name = port_name(network.inputs, port)
        fields = {"inputs": {**network.inputs, name: [ref]}}
    doc.undo_stack.push(commands.UpdateNetwork(doc.graph, network.name, fields))
    return name


def unexpose(doc, name: str, output: bool) -> None:
    """Takes a port off the opened network, with the wires instances had on it."""
    network = opened(doc)
    if network is None or not doc._editable():
        return
    if output and len(network.outputs) == 1:
        raise Refused(f"{name} is the only output of {network.name}: a network needs one")
    side = "outputs" if output else "inputs"
    kept = {k: v for k, v in getattr(network, side).items() if k != name}
    doc.push(f"Remove port {name} of {network.name}",
             [*_instance_wires(doc, network.name, {name}, output),
              commands.UpdateNetwork(doc.graph, network.name, {side: kept})])


def _instance_wires(doc, network: str, ports: set[str], output: bool) -> list[QUndoCommand]:
    """Disconnects, on every level, the wires of the network's instances at these ports."""
    found = []
    for level in [doc.graph, *(n.graph for n in doc.graph.networks.values())]:
        instances = {n.id for n in level.nodes.values() if n.type == PREFIX + network}
        for e in level.edges:
            end, port = (e.src, e.src_port) if output else (e.dst, e.dst_port)
            if end in instances and port in ports:
                found.append(commands.Disconnect(level, e))
    return found


def removal_problem(doc, node_ids: list[str]) -> str | None:
    """Why these nodes cannot leave the opened network: they give all its outputs."""
    network = opened(doc)
    if network is None or any(split_ref(r)[0] not in node_ids
                              for r in network.outputs.values()):
        return None
    return (f"{', '.join(network.outputs)} of {network.name} would be left with nothing to "
            "give: a network needs an output, so make another node's output one first "
            "(Inspector: make it a network output)")


def repairs_after_removal(doc, removed: set[str]) -> list[QUndoCommand]:
    """When nodes inside the opened network are deleted, what referred to them goes too:
    the network's ports they were (with the instances' wires there), the inner parameters
    its params set, and group members that were paths to them."""
    network = opened(doc)
    if network is None:
        return []
    inputs = {k: [r for r in refs if split_ref(r)[0] not in removed]
              for k, refs in network.inputs.items()}
    inputs = {k: refs for k, refs in inputs.items() if refs}
    outputs = {k: r for k, r in network.outputs.items() if split_ref(r)[0] not in removed}
    params = {k: dataclasses.replace(p, sets=[t for t in p.sets
                                             if t.partition(".")[0] not in removed])
              for k, p in network.params.items()}
    params = {k: p for k, p in params.items() if p.sets}
    steps = [*_instance_wires(doc, network.name, set(network.inputs) - set(inputs), False),
             *_instance_wires(doc, network.name, set(network.outputs) - set(outputs), True),
             *_cleared_values(doc, network, set(network.params) - set(params))]
    if (inputs, outputs, params) != (network.inputs, network.outputs, network.params):
        steps.append(commands.UpdateNetwork(doc.graph, network.name,
                                            {"inputs": inputs, "outputs": outputs,
                                             "params": params}))
    steps += [commands.UpdateGroup(doc.graph, gid, {"members": members})
              for gid, members in _members_without(doc, removed).items()]
    return steps


def _cleared_values(doc, network: Network, names: set[str]) -> list[QUndoCommand]:
    """Instances' values of params the network is about to lose, back to their defaults
    (while still declared, so that they are dropped from the file)."""
    found = []
    for level in [doc.graph, *(n.graph for n in doc.graph.networks.values())]:
        for node in level.nodes.values():
            if node.type == PREFIX + network.name and isinstance(node.params, dict):
                found += [commands.SetParam(level, node.id, k, node.params[k],
                                            network.params[k].default)
                          for k in names if k in node.params]
    return found


def _members_without(doc, removed: set[str]) -> dict[str, list[str]]:
    changed = {}
    prefixes = level_prefixes(doc)
    for group in doc.graph.groups:
        kept = [m for m in group.members if not any(
            levels.owner(m, p) in removed for p in prefixes if isinstance(m, str))]
        if kept != group.members:
            changed[group.id] = kept
    return changed


def rename_port(doc, old: str, new: str, output: bool) -> None:
    """Gives a port of the opened network another name; the wires instances have there
    follow it. Refused (with the reason) when the name cannot be a port's."""
    network = opened(doc)
    if network is None or not doc._editable() or new == old:
        return
    side = "outputs" if output else "inputs"
    ports = getattr(network, side)
    if old not in ports:
        return  # renamed already (a field that lost the focus as it went)
    try:
        validate.identifier(new, f"{network.name}.{side}", "port")
    except GraphFormatError as e:
        raise Refused(e.detail) from e
    if new in ports:
        raise Refused(f"{network.name} already has an {side[:-1]} {new}")
    renamed = {new if k == old else k: v for k, v in ports.items()}
    moved = _instance_wires(doc, network.name, {old}, output)
    doc.push(f"Rename port {old} of {network.name} to {new}", [
        *moved, commands.UpdateNetwork(doc.graph, network.name, {side: renamed}),
        *(commands.Connect(c.graph, _renamed(c.edge, old, new, output)) for c in moved)])


def _renamed(edge: Edge, old: str, new: str, output: bool) -> Edge:
    if output:
        return Edge(edge.src, new, edge.dst, edge.dst_port)
    return Edge(edge.src, edge.src_port, edge.dst, new)


def expose_param(doc, node_id: str, param: str) -> str | None:
    """Makes an inner parameter a parameter of the opened network, its value now the
    default: each instance then gives its own. Returns the parameter's name."""
    network = opened(doc)
    if network is None or not doc._editable():
        return None
    decl = doc.level.type_of(doc.level.nodes[node_id]).param(param)
    if decl is None or not decl.network_param:
        return None
    name = port_name(network.params, param)
    value = doc.level.params_of(node_id)[param]
    params = {**network.params, name: NetworkParam(value, [f"{node_id}.{param}"])}
    doc.undo_stack.push(commands.UpdateNetwork(doc.graph, network.name, {"params": params}))
    return name


def unexpose_param(doc, name: str) -> None:
    """Takes a parameter off the opened network: the inner value sets it again for every
    instance, and the values instances gave are dropped."""
    network = opened(doc)
    if network is None or not doc._editable() or name not in network.params:
        return
    kept = {k: p for k, p in network.params.items() if k != name}
    doc.push(f"Remove parameter {name} of {network.name}",
             [*_cleared_values(doc, network, {name}),
              commands.UpdateNetwork(doc.graph, network.name, {"params": kept})])
