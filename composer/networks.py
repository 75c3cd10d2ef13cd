"""Networks: a part of a graph defined once and used by instance nodes, as a Python class is
defined once and instantiated (docs/FORMAT.md, "Networks").

A network holds its inner nodes and edges as a Graph of their own, so the editor changes them
with the same mutators as the top level. An instance node's type is `net.<Name>`; its ports
are the network's inputs and outputs and its parameters the network's params, declared here as
a NodeType built from the inner declarations they set.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer import catalogue
from composer.catalogue.base import NodeType, Port

if TYPE_CHECKING:
    from composer.graph import Graph, Node

PREFIX = "net."
SEPARATOR = "/"  # between an instance and its inner node in a path: "backbone/layer4"
NAME = re.compile(r"[A-Z][A-Za-z0-9_]*\Z")
# What a network may hold besides instances of other networks: data and losses stay on the
# top level, where groups see them.
INNER_CATEGORIES = ("layer", "block", "merge", "op")


@dataclass
class NetworkParam:
    """A parameter of every instance: its default and the inner `node.param`s it sets."""

    default: Any
    sets: list[str] = field(default_factory=list)
    doc: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"default": copy.deepcopy(self.default), "sets": list(self.sets)}
        if self.doc:
            d["doc"] = self.doc
        return d


@dataclass
class Network:
    """A named sub-graph. `inputs`: port -> the inner input ports it feeds ("node.port");
    `outputs`: port -> the inner output port it gives."""

    name: str
    graph: Graph
    description: str = ""
    params: dict[str, NetworkParam] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def type_id(self) -> str:
        return PREFIX + self.name

    def to_dict(self) -> dict[str, Any]:
        inner = self.graph.level_dict()
        return {
            "description": self.description,
            "params": {k: p.to_dict() for k, p in self.params.items()},
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "outputs": dict(self.outputs),
            "nodes": inner["nodes"],
            "edges": inner["edges"],
            "ui": inner["ui"],
        }


def network_name(type_id: str) -> str | None:
    """"Discriminator" for "net.Discriminator"; None for a catalogue type."""
    if not isinstance(type_id, str) or not type_id.startswith(PREFIX):
        return None
    return type_id[len(PREFIX):]


def split_ref(ref: str) -> tuple[str, str]:
    node, _, port = ref.partition(".")
    return node, port


def instance_type(network: Network, networks: Mapping[str, Network],
                  _seen: frozenset[str] = frozenset()) -> NodeType:
    """The NodeType of `net.<Name>`: the network's ports, and its params declared as the first
    inner parameter each sets (with the network's default). A network that reaches itself
    gets no ports through the cycle rather than recursing (the checks report the cycle)."""
    seen = _seen | {network.name}
    inner = network.graph

    def port_kind(ref: str, output: bool) -> str:
        node_id, port = split_ref(ref)
        node = inner.nodes.get(node_id)
        t = _inner_type(node, networks, seen) if node is not None else None
        if t is None:
            return "tensor"
        params = node.resolved_params()
        p = t.output_port(port, params) if output else t.input_port(params, port)
        return "tensor" if p is None or p.kind == "same" else p.kind

    inputs = tuple(Port(name, port_kind(refs[0], False) if refs else "tensor")
                   for name, refs in network.inputs.items())
    outputs = tuple(Port(name, port_kind(ref, True)) for name, ref in network.outputs.items())
    params = []
    for name, p in network.params.items():
        decl = _declaration(network, p, networks, seen)
        if decl is not None:
            params.append(dataclasses.replace(decl, name=name, default=p.default,
                                              doc=p.doc or decl.doc))
    summary = network.description.split("\n", 1)[0] or f"An instance of {network.name}."
    return NodeType(id=network.type_id, category="network", doc=summary, inputs=inputs,
                    outputs=outputs, params=tuple(params), glyph="N",
                    key_params=tuple(network.params)[:2])


def _declaration(network: Network, p: NetworkParam, networks: Mapping[str, Network],
                 seen: frozenset[str]):
    for target in p.sets:
        node_id, _, param = target.partition(".")
        node = network.graph.nodes.get(node_id)
        t = _inner_type(node, networks, seen) if node is not None else None
        decl = t.param(param) if t is not None else None
        if decl is not None:
            return decl
    return None


def _inner_type(node: Node, networks: Mapping[str, Network],
                seen: frozenset[str]) -> NodeType | None:
    name = network_name(node.type)
    if name is None:
        return catalogue.get(node.type)
    if name in seen or name not in networks:
        return None
    return instance_type(networks[name], networks, seen)


def uses(network: Network) -> list[str]:
    """The networks this one's instance nodes name, in node order, each once."""
    found = []
    for node in network.graph.nodes.values():
        name = network_name(node.type)
        if name is not None and name not in found:
            found.append(name)
    return found


def instance_values(network: Network, node: Node) -> dict[str, Any]:
    """An instance's params: the network's defaults overlaid with the instance's values."""
    values = {k: copy.deepcopy(p.default) for k, p in network.params.items()}
    if isinstance(node.params, dict):  # anything else is reported by the checks
        values.update(copy.deepcopy(node.params))
    return values


def inner_overrides(network: Network, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """inner node id -> {param: value} that an instance's params set."""
    overrides: dict[str, dict[str, Any]] = {}
    for name, p in network.params.items():
        for target in p.sets:
            node_id, _, param = target.partition(".")
            overrides.setdefault(node_id, {})[param] = copy.deepcopy(values.get(name, p.default))
    return overrides
