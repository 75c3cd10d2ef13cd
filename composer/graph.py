"""The composed model as plain data, with mutators that emit events.

`Graph.to_dict()` is the file format (docs/FORMAT.md); the GUI edits a Graph only through the
mutators here and redraws from the events they emit.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer import catalogue, schedules
from composer.events import Events
from composer.names import fresh_name
from composer.networks import Network, instance_type, network_name
from composer.optim import LR_SCHEDULES, OPTIMIZERS

DEFAULT_OPTIMIZER = {"type": "adam", "lr": 0.001}
DEFAULT_LR_SCHEDULE = {"type": "constant"}


def _ordered(values: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """A copy with keys in `order`, then any others sorted: equal graphs save to equal bytes,
    whatever order their values were set in."""
    known = [k for k in order if k in values]
    rest = sorted((k for k in values if k not in order), key=str)
    return {k: copy.deepcopy(values[k]) for k in known + rest}


def _sorted_ui(ui: Any) -> Any:
    """GUI state with every object's keys sorted, however deep."""
    if isinstance(ui, dict):
        return {k: _sorted_ui(ui[k]) for k in sorted(ui, key=str)}
    if isinstance(ui, list):
        return [_sorted_ui(v) for v in ui]
    return copy.deepcopy(ui)


def _settings(values: dict[str, Any], table: dict[str, tuple]) -> dict[str, Any]:
    """An optimizer or LR schedule: `type` first, then its arguments in declaration order."""
    declared = table.get(values.get("type"), ()) if isinstance(values.get("type"), str) else ()
    return _ordered(values, ["type", *(p.name for p in declared)])


def weights_dict(weights: dict[str, Any]) -> dict[str, Any]:
    """A weights key as the file holds it: the path, then prefix and match when not default."""
    d = {"path": weights.get("path")}
    if weights.get("prefix", ""):
        d["prefix"] = weights["prefix"]
    if weights.get("match", "names") != "names":
        d["match"] = weights["match"]
    return copy.deepcopy(d | {k: v for k, v in weights.items() if k not in WEIGHTS_KEYS})


WEIGHTS_KEYS = ("path", "prefix", "match")


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)  # only values that differ from defaults
    label: str | None = None
    shares: str | None = None
    ui: dict[str, Any] = field(default_factory=dict)
    # starting weights from a state_dict file: {"path", "prefix", "match"}, or None
    weights: dict[str, str] | None = None

    @property
    def node_type(self) -> catalogue.NodeType | None:
        return catalogue.get(self.type)

    def resolved_params(self) -> dict[str, Any]:
        """Defaults overlaid with this node's values: what builds and trains."""
        t = self.node_type
        return t.resolve(self.params) if t else dict(self.params)

    def to_dict(self, t: catalogue.NodeType | None = None) -> dict[str, Any]:
        """The node as the file holds it; `t` is its type when the catalogue does not know
        it (a network instance), to order its params."""
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.params:
            t = t or self.node_type
            d["params"] = _ordered(self.params, [p.name for p in t.params] if t else [])
        if self.label is not None:
            d["label"] = self.label
        if self.shares is not None:
            d["shares"] = self.shares
        if self.weights is not None:
            d["weights"] = weights_dict(self.weights)
        if self.ui:
            d["ui"] = _sorted_ui(self.ui)
        return d


@dataclass(frozen=True)
class Edge:
    src: str  # node id
    src_port: str
    dst: str
    dst_port: str

    @property
    def source(self) -> str:
        return f"{self.src}.{self.src_port}"

    @property
    def target(self) -> str:
        return f"{self.dst}.{self.dst_port}"

    def to_dict(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target}

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass
class Group:
    id: str
    members: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    optimizer: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIMIZER))
    schedule: dict[str, Any] = field(default_factory=schedules.default_dict)
    lr_schedule: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LR_SCHEDULE))
    clip_grad_norm: float | None = None
    ui: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id, "members": list(self.members), "losses": list(self.losses),
            "optimizer": _settings(self.optimizer, OPTIMIZERS),
            "schedule": _ordered(self.schedule, list(schedules.KEYS)),
            "lr_schedule": _settings(self.lr_schedule, LR_SCHEDULES),
            "clip_grad_norm": self.clip_grad_norm,
        }
        if self.ui:
            d["ui"] = _sorted_ui(self.ui)
        return d


@dataclass
class Training:
    epochs: int = 5
    seed: int = 0
    device: str = "auto"
    steps_per_epoch: int | None = None
    precision: str = "32"  # "32", "bf16-mixed" or "16-mixed"
    compile: bool = False  # run the model through torch.compile
    sync_batchnorm: bool = False  # batch norms use the global batch across processes

    def to_dict(self) -> dict[str, Any]:
        """The file's "training" object; the keys of version 2's training at scale only when
        set, so a file that does not use them is written as before."""
        out = {"epochs": self.epochs, "seed": self.seed, "device": self.device,
               "steps_per_epoch": self.steps_per_epoch}
        if self.precision != "32":
            out["precision"] = self.precision
        if self.compile:
            out["compile"] = True
        if self.sync_batchnorm:
            out["sync_batchnorm"] = True
        return out


@dataclass
class Removal:
    """What `Graph.remove_node` took away, so that undo can put it back exactly."""

    node: Node
    index: int
    edges: list[tuple[int, Edge]]
    old_groups: dict[str, dict[str, Any]]


class Graph:
    """Nodes (in file order), edges, optimiser groups and training settings.

    Mutators validate nothing beyond what keeps the structure consistent (ids exist, are
    unique); `composer.check` reports everything else, so a half-wired graph can be edited.
    """

    def __init__(self, name: str = "Untitled", description: str = "") -> None:
        self.name = name
        self.description = description
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.groups: list[Group] = []
        self.training = Training()
        self.ui: dict[str, Any] = {}
        self.base_dir = Path(".")  # where relative data paths start: the file's folder
        # name -> Network; a network's inner graph holds the same dict, so its instance
        # nodes resolve against the file's networks.
        self.networks: dict[str, Network] = {}
        self.events = Events()

    # --- queries -----------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def type_of(self, node: Node | str) -> catalogue.NodeType | None:
        """A node's type: from the catalogue, or built from this file's network for a
        `net.<Name>` instance (None when unknown)."""
        type_id = node if isinstance(node, str) else node.type
        name = network_name(type_id)
        if name is None:
            return catalogue.get(type_id)
        network = self.networks.get(name)
        return instance_type(network, self.networks) if network is not None else None

    def params_of(self, node_id: str) -> dict[str, Any]:
        """Defaults overlaid with the node's values: what builds and trains."""
        node = self.nodes[node_id]
        t = self.type_of(node)
        return t.resolve(node.params) if t else dict(node.params)

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def edges_into(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        return next((e for e in self.edges if e.dst == node_id and e.dst_port == port), None)

    def gradient_reach(self, losses: Iterable[str]) -> set[str]:
        """The nodes a backward from these losses goes through, back along the wires: a node
        that stops the gradient (op.detach) is reached, its inputs are not."""
        parents: dict[str, list[str]] = {}
        for e in self.edges:
            parents.setdefault(e.dst, []).append(e.src)
        reached: set[str] = set()
        todo = [x for x in losses if x in self.nodes]
        while todo:
            node = todo.pop()
            if node in reached or node not in self.nodes:
                continue
            reached.add(node)
            t = self.type_of(self.nodes[node])
            if t is not None and not t.stops_gradient:
                todo.extend(parents.get(node, ()))
        return reached

    def unique_id(self, stem: str, also_taken: Iterable[str] = ()) -> str:
        """A fresh node or group id built from `stem` (`conv`, `conv_2`, ...), avoiding the
        graph's ids and `also_taken` (ids handed out but not yet added, as when pasting)."""
        stem = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "node"
        if stem[0].isdigit():
            stem = "n" + stem
        taken = set(self.nodes) | {g.id for g in self.groups} | set(also_taken)
        return fresh_name(stem, taken.__contains__)

    # --- node mutators -----------------------------------------------------------------
    def add_node(self, node: Node, index: int | None = None) -> Node:
        if node.id in self.nodes:
            raise KeyError(f"a node {node.id!r} already exists")
        items = list(self.nodes.items())
        items.insert(len(items) if index is None else index, (node.id, node))
        self.nodes = dict(items)
        self.events.emit("node_added", node=node)
        return node

    def remove_node(self, node_id: str) -> Removal:
        """Removes a node with its edges and group memberships; returns what undo needs."""
        index = list(self.nodes).index(node_id)
        edges = [(i, e) for i, e in enumerate(self.edges) if node_id in (e.src, e.dst)]
        for _, edge in edges:
            self.disconnect(edge)
        old_groups = {}
        for g in self.groups:
            if node_id in g.members or node_id in g.losses:
                old_groups[g.id] = self.update_group(
                    g.id, members=[m for m in g.members if m != node_id],
                    losses=[x for x in g.losses if x != node_id])
        node = self.nodes.pop(node_id)
        self.events.emit("node_removed", node=node)
        return Removal(node, index, edges, old_groups)

    def restore_node(self, removal: Removal) -> None:
        """Undoes `remove_node` exactly: position in file order, edges, memberships."""
        self.add_node(removal.node, removal.index)
        for i, edge in removal.edges:
            self.connect(edge, i)
        for group_id, old in removal.old_groups.items():
            self.update_group(group_id, **old)

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Sets a parameter; the default value is stored as absence, as the file format wants."""
        node = self.nodes[node_id]
        t = self.type_of(node)
        default = t.param(name).default if t and t.param(name) else object()
        if value == default:
            node.params.pop(name, None)
        else:
            node.params[name] = copy.deepcopy(value)
        self.events.emit("node_changed", node=node, what="params")

    def set_label(self, node_id: str, label: str | None) -> None:
        self.nodes[node_id].label = label or None
        self.events.emit("node_changed", node=self.nodes[node_id], what="label")

    def set_shares(self, node_id: str, shares: str | None) -> None:
        self.nodes[node_id].shares = shares
        self.events.emit("node_changed", node=self.nodes[node_id], what="shares")

    def set_weights(self, node_id: str, weights: dict[str, str] | None) -> None:
        """Sets (or with None removes) a node's pretrained weights file key."""
        self.nodes[node_id].weights = copy.deepcopy(weights)
        self.events.emit("node_changed", node=self.nodes[node_id], what="weights")

    def move_node(self, node_id: str, pos: tuple[float, float]) -> None:
        self.nodes[node_id].ui["pos"] = [round(float(pos[0]), 1), round(float(pos[1]), 1)]
        self.events.emit("node_moved", node=self.nodes[node_id])

    # --- edge mutators -----------------------------------------------------------------
    def connect(self, edge: Edge, index: int | None = None) -> Edge:
        for end in (edge.src, edge.dst):
            if end not in self.nodes:
                raise KeyError(f"no node {end!r}")
        self.edges.insert(len(self.edges) if index is None else index, edge)
        self.events.emit("edge_added", edge=edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        self.edges.remove(edge)
        self.events.emit("edge_removed", edge=edge)

    # --- group mutators ----------------------------------------------------------------
    def add_group(self, group: Group, index: int | None = None) -> Group:
        if self.group(group.id) is not None:
            raise KeyError(f"a group {group.id!r} already exists")
        self.groups.insert(len(self.groups) if index is None else index, group)
        self.events.emit("group_added", group=group)
        return group

    def remove_group(self, group_id: str) -> tuple[Group, int]:
        group = self.group(group_id)
        if group is None:
            raise KeyError(f"no group {group_id!r}")
        index = self.groups.index(group)
        self.groups.remove(group)
        self.events.emit("group_removed", group=group)
        return group, index

    def update_group(self, group_id: str, **fields: Any) -> dict[str, Any]:
        """Replaces some of a group's fields; returns their old values (for undo)."""
        group = self.group(group_id)
        if group is None:
            raise KeyError(f"no group {group_id!r}")
        old = {}
        for key, value in fields.items():
            if key == "id" or not hasattr(group, key):
                raise KeyError(f"groups have no field {key!r}")
            old[key] = copy.deepcopy(getattr(group, key))
            setattr(group, key, copy.deepcopy(value))
        self.events.emit("group_changed", group=group)
        return old

    def rename_group(self, old: str, new: str) -> Group:
        """Gives a group another id (its name). Ids of nodes and groups share one namespace
        (`unique_id`), so a name a node or another group has is refused with KeyError."""
        group = self.group(old)
        if group is None:
            raise KeyError(f"no group {old!r}")
        if new != old and (new in self.nodes or self.group(new) is not None):
            raise KeyError(f"the id {new!r} is taken by a "
                           f"{'node' if new in self.nodes else 'group'}")
        group.id = new
        self.events.emit("group_renamed", group=group, old=old)
        return group

    # --- network mutators -------------------------------------------------------------
    def add_network(self, network: Network) -> Network:
        if network.name in self.networks:
            raise KeyError(f"a network {network.name!r} already exists")
        network.graph.networks = self.networks
        self.networks[network.name] = network
        self.events.emit("network_added", network=network)
        return network

    def remove_network(self, name: str) -> Network:
        network = self.networks.pop(name)
        self.events.emit("network_removed", network=network)
        return network

    def update_network(self, name: str, **fields: Any) -> dict[str, Any]:
        """Replaces some of a network's fields (description, params, inputs, outputs);
        returns their old values (for undo)."""
        network = self.networks[name]
        old = {}
        for key, value in fields.items():
            if key in ("name", "graph") or not hasattr(network, key):
                raise KeyError(f"networks have no field {key!r} to set")
            old[key] = copy.deepcopy(getattr(network, key))
            setattr(network, key, copy.deepcopy(value))
        self.events.emit("network_changed", network=network)
        return old

    def instances(self) -> list[Node]:
        """The instance nodes of this level, in file order."""
        return [n for n in self.nodes.values() if network_name(n.type) is not None]

    # --- whole graph -------------------------------------------------------------------
    def set_meta(self, **fields: Any) -> dict[str, Any]:
        """Sets name, description or training fields; returns old values (for undo)."""
        old = {}
        for key, value in fields.items():
            if key in ("name", "description"):
                old[key] = getattr(self, key)
                setattr(self, key, value)
            elif hasattr(self.training, key):
                old[key] = getattr(self.training, key)
                setattr(self.training, key, value)
            else:
                raise KeyError(f"no graph setting {key!r}")
        self.events.emit("graph_changed")
        return old

    def set_ui(self, key: str, value: Any) -> Any:
        """Sets (or with None removes) one key of the graph's own `ui`; returns the old value
        (for undo). GUI state: it never changes what trains."""
        old = copy.deepcopy(self.ui.get(key))
        if value is None:
            self.ui.pop(key, None)
        else:
            self.ui[key] = copy.deepcopy(value)
        self.events.emit("ui_changed", key=key)
        return old

    @property
    def version(self) -> int:
        """The oldest format version that holds this graph: 2 once it has networks."""
        return 2 if self.networks else 1

    def to_dict(self) -> dict[str, Any]:
        networks = {}
        if self.networks:
            networks["networks"] = {name: self.networks[name].to_dict()
                                    for name in sorted(self.networks)}
        return {
            "format": "composer-graph",
            "version": self.version,
            "name": self.name,
            "description": self.description,
            **networks,
            "nodes": [n.to_dict(self.type_of(n)) for n in self.nodes.values()],
            "edges": [e.to_dict() for e in self.edges],
            "groups": [g.to_dict() for g in self.groups],
            "training": self.training.to_dict(),
            "ui": _sorted_ui(self.ui),
        }

    def copy(self) -> Graph:
        """An independent copy with no subscribers (whatever it holds: a copy is not a check)."""
        g = self._copy_level()
        for name, network in self.networks.items():
            inner = network.graph._copy_level()
            inner.networks = g.networks
            g.networks[name] = Network(name, inner, network.description,
                                       copy.deepcopy(network.params),
                                       copy.deepcopy(network.inputs), dict(network.outputs))
        return g

    def _copy_level(self) -> Graph:
        """A copy of this level alone (not the networks it can see)."""
        g = Graph(self.name, self.description)
        g.nodes = copy.deepcopy(self.nodes)
        g.edges = list(self.edges)  # edges are frozen
        g.groups = copy.deepcopy(self.groups)
        g.training = copy.deepcopy(self.training)
        g.ui = copy.deepcopy(self.ui)
        g.base_dir = self.base_dir
        return g

    def level_dict(self) -> dict[str, Any]:
        """This level's nodes, edges and ui, as the file holds them (a network's inside)."""
        return {"nodes": [n.to_dict(self.type_of(n)) for n in self.nodes.values()],
                "edges": [e.to_dict() for e in self.edges], "ui": _sorted_ui(self.ui)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Graph({self.name!r}, {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{len(self.groups)} groups)")
