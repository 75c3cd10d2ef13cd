"""Sizes of a node on the canvas, computed from the graph alone (no Qt).

The node item paints with these numbers and the layout helper places nodes with them, so a
laid-out sample never overlaps because both sides agree on how tall a node is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from composer.catalogue.base import Port
from composer.graph import Graph, Node
from composer.networks import network_name
from gui.levels import exposed_ports, inside_summary

NODE_WIDTH = 196.0
HEADER_H = 40.0  # title line and type line
BODY_TOP = 6.0  # gap between the header and the first port row
PORT_ROW_H = 22.0
PARAM_GAP = 4.0  # gap above the key parameters
PARAM_ROW_H = 17.0
BOTTOM_PAD = 8.0
CORNER = 7.0
PORT_RADIUS = 5.0
PORT_HIT = 10.0  # half-size of a port's hit area: easy to grab at the default zoom
TEXT_INSET = 14.0  # port names start this far from the node's edge

# The single, self-explanatory port names that are not written beside their dot.
QUIET_PORT_NAMES = {"in", "out"}


@dataclass(frozen=True)
class NodeFace:
    """What a node shows: its ports and key parameters, in display order, and for a network
    instance a line on what is inside."""

    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    params: tuple[tuple[str, str], ...]  # (name, formatted value)
    inside: str = ""
    # Inside a network: (output?, port) -> the network's port it is.
    exposed: dict[tuple[bool, str], str] = field(default_factory=dict, compare=False)

    @property
    def port_rows(self) -> int:
        return max(len(self.inputs), len(self.outputs), 1)

    @property
    def height(self) -> float:
        h = HEADER_H + BODY_TOP + self.port_rows * PORT_ROW_H
        if self.params or self.inside:
            h += PARAM_GAP + (len(self.params) + bool(self.inside)) * PARAM_ROW_H
        return h + BOTTOM_PAD

    def port_y(self, index: int) -> float:
        """Vertical centre of the port row `index`, relative to the node's top."""
        return HEADER_H + BODY_TOP + index * PORT_ROW_H + PORT_ROW_H / 2

    @property
    def params_top(self) -> float:
        return HEADER_H + BODY_TOP + self.port_rows * PORT_ROW_H + PARAM_GAP


def format_value(value: Any) -> str:
    """A parameter value as short as it can be read: `3`, `0.001`, `[1, 8, 8]`, `auto`."""
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_count(count: int) -> str:
    """A parameter count as people say it: `864`, `4.6k`, `1.2M`."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k".replace(".0k", "k")
    return f"{count / 1_000_000:.1f}M".replace(".0M", "M")


def _edge_ports(graph: Graph, node: Node, output: bool) -> tuple[Port, ...]:
    """Ports of a node of unknown type: whatever its edges name, so they still attach."""
    names: list[str] = []
    for e in graph.edges:
        if output and e.src == node.id and e.src_port not in names:
            names.append(e.src_port)
        if not output and e.dst == node.id and e.dst_port not in names:
            names.append(e.dst_port)
    return tuple(Port(n, "tensor") for n in names)


def node_face(graph: Graph, node: Node) -> NodeFace:
    """Ports and key parameters of `node` (a node of `graph`'s level) as the canvas shows
    them."""
    t = graph.type_of(node)
    if t is None:
        return NodeFace(_edge_ports(graph, node, False), _edge_ports(graph, node, True), ())
    params = t.resolve(node.params) if isinstance(node.params, dict) else {}
    shown = [(name, format_value(params.get(name))) for name in t.key_params]
    if node.shares:
        shown.insert(0, ("shares", node.shares))
    name = network_name(node.type)
    inside = inside_summary(graph.networks[name]) if name is not None else ""
    return NodeFace(t.input_ports(params), t.output_ports(params), tuple(shown), inside,
                    exposed_ports(graph, node.id))


def node_size(graph: Graph, node: Node) -> tuple[float, float]:
    return NODE_WIDTH, node_face(graph, node).height
