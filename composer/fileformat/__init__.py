"""Reading and writing graph files (docs/FORMAT.md, versions 1 and 2).

Loading validates everything and never executes anything from the file. Every refusal is a
GraphFormatError whose message starts with the place in the file (`nodes[3].params.kernel_size`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer import catalogue, networks
from composer.errors import GraphFormatError
from composer.fileformat import validate
from composer.fileformat.atomic_write import write_text_atomic
from composer.fileformat.validate import expect, show, suggest
from composer.graph import Edge, Graph, Group, Node, Training
from composer.networks import Network, NetworkParam

FORMAT_NAME = "composer-graph"
VERSION = 2

TOP_KEYS = ("format", "version", "name", "description", "networks", "nodes", "edges", "groups",
            "training", "ui")
NETWORK_KEYS = ("description", "params", "inputs", "outputs", "nodes", "edges", "ui")
NETWORK_PARAM_KEYS = ("default", "sets", "doc")
NODE_KEYS = ("id", "type", "params", "label", "shares", "weights", "ui")
GROUP_KEYS = ("id", "members", "losses", "optimizer", "schedule", "lr_schedule",
              "clip_grad_norm", "ui")
TRAINING_KEYS = ("epochs", "seed", "device", "steps_per_epoch", "precision", "compile",
                 "sync_batchnorm")
MAX_UI_DEPTH = 32  # levels of objects and lists in a "ui" value



def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 only adds to version 1 (networks, data at scale, weights)."""
    return {**data, "version": 2}


# version -> function turning a dict of that version into one of the next version.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_version_1}


def _check_keys(obj: dict, allowed: tuple[str, ...], where: str, what: str) -> None:
    for key in obj:
        if key not in allowed:
            raise GraphFormatError(f"{where}.{key}" if where else str(key),
                                   f"unknown key of {what}{suggest(str(key), allowed)}")


def _ui(value: Any, where: str) -> dict[str, Any]:
    """GUI-only state: any JSON object, carried as it is, but not nested so deep that saving
    or copying the graph would run out of stack."""
    expect(value, dict, where, "an object")
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_UI_DEPTH:
            raise GraphFormatError(where, f"nested more than {MAX_UI_DEPTH} levels deep")
        level = [v for item in level for v in (item.values() if isinstance(item, dict) else item)
                 if isinstance(v, dict | list)]
    return value


def _node(obj: Any, where: str, graph: Graph) -> Node:
    """A node of `graph` (the top level or a network's inside): its type is from the catalogue
    or one of the file's networks, which are read before any node."""
    expect(obj, dict, where, "a node object")
    for key in ("id", "type"):
        if key not in obj:
            raise GraphFormatError(where, f"a node needs \"{key}\"")
    node_id = validate.node_id(obj["id"], f"{where}.id")
    where = f"{where} ({node_id})"  # every later message names the node
    _check_keys(obj, NODE_KEYS, where, "a node")
    type_id = expect(obj["type"], str, f"{where}.type", "a node type name")
    node_type = graph.type_of(type_id)
    if node_type is None:
        name = networks.network_name(type_id)
        if name is not None:
            raise GraphFormatError(f"{where}.type", f"no network \"{name}\" in this file"
                                   f"{_known_networks(name, list(graph.networks))}")
        raise GraphFormatError(f"{where}.type", f"unknown node type \"{type_id}\""
                               f"{catalogue.suggest_types(type_id)}")
    params = validate.node_params(node_type, obj.get("params", {}), f"{where}.params")
    label = obj.get("label")
    if label is not None:
        expect(label, str, f"{where}.label", "a string")
    shares = obj.get("shares")
    if shares is not None:
        validate.identifier(shares, f"{where}.shares", "node")
    weights = obj.get("weights")
    if weights is not None:
        weights = validate.weights(weights, f"{where}.weights")
    ui = _ui(obj.get("ui", {}), f"{where}.ui")
    return Node(node_id, node_type.id, params, label, shares, ui, weights)


def _port_ref(value: Any, where: str, graph: Graph, output: bool) -> tuple[str, str]:
    expect(value, str, where, 'a port reference "node.port"')
    node_id, dot, port = value.partition(".")
    if not dot or not node_id or not port:
        raise GraphFormatError(where, f"expected \"node.port\", got {show(value)}")
    if node_id not in graph.nodes:
        raise GraphFormatError(where, f"no node \"{node_id}\"{suggest(node_id, list(graph.nodes))}")
    node_type = graph.type_of(graph.nodes[node_id])
    if output:
        names = [p.name for p in node_type.output_ports(graph.params_of(node_id))]
    else:
        names = [p.name for p in node_type.input_ports(graph.params_of(node_id))]
    if port not in names:
        side = "output" if output else "input"
        have = ", ".join(names) or "none"
        raise GraphFormatError(where, f"{node_type.id} {node_id} has no {side} port \"{port}\" "
                               f"(its {side}s: {have})")
    return node_id, port


def _edge(obj: Any, where: str, graph: Graph) -> Edge:
    expect(obj, dict, where, "an edge object")
    _check_keys(obj, ("from", "to"), where, "an edge")
    for key in ("from", "to"):
        if key not in obj:
            raise GraphFormatError(where, f"an edge needs \"{key}\"")
    src, src_port = _port_ref(obj["from"], f"{where}.from", graph, output=True)
    dst, dst_port = _port_ref(obj["to"], f"{where}.to", graph, output=False)
    return Edge(src, src_port, dst, dst_port)


def _id_list(value: Any, where: str, graph: Graph, paths: bool = False) -> list[str]:
    """Node ids; with `paths`, also paths into network instances ("backbone/layer4")."""
    expect(value, list, where, "a list of node ids")
    for i, item in enumerate(value):
        expect(item, str, f"{where}[{i}]", "a node id")
        if paths and networks.SEPARATOR in item:
            _path(item, f"{where}[{i}]", graph)
        elif item not in graph.nodes:
            raise GraphFormatError(f"{where}[{i}]", f"no node \"{item}\""
                                   f"{suggest(item, list(graph.nodes))}")
    return list(value)


def _path(path: str, where: str, graph: Graph) -> None:
    """A path into instances names an instance, then a node inside its network, and so on."""
    level, walked = graph, []
    for part in path.split(networks.SEPARATOR):
        if level is None:
            raise GraphFormatError(where, f"\"{'/'.join(walked)}\" is not a network instance, "
                                   "so nothing lies inside it")
        if part not in level.nodes:
            inside = f" inside {'/'.join(walked)}" if walked else ""
            raise GraphFormatError(where, f"no node \"{part}\"{inside}"
                                   f"{suggest(part, list(level.nodes))}")
        walked.append(part)
        name = networks.network_name(level.nodes[part].type)
        level = graph.networks[name].graph if name in graph.networks else None


def _group(obj: Any, where: str, graph: Graph) -> Group:
    expect(obj, dict, where, "a group object")
    _check_keys(obj, GROUP_KEYS, where, "a group")
    if "id" not in obj:
        raise GraphFormatError(where, 'a group needs "id"')
    group = Group(validate.group_id(obj["id"], f"{where}.id"))
    group.members = _id_list(obj.get("members", []), f"{where}.members", graph, paths=True)
    group.losses = _id_list(obj.get("losses", []), f"{where}.losses", graph)
    settings = {key: obj.get(key, getattr(group, key))
                for key in ("optimizer", "schedule", "lr_schedule", "clip_grad_norm")}
    for key, value in validate.group_fields(settings, where).items():
        setattr(group, key, value)
    group.ui = _ui(obj.get("ui", {}), f"{where}.ui")
    return group


def _training(obj: Any) -> Training:
    expect(obj, dict, "training", "an object")
    _check_keys(obj, TRAINING_KEYS, "training", "training")
    return Training(**validate.training_fields(obj))


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Brings a dict of an older version up to VERSION, one step at a time."""
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFormatError("version", f"expected an integer, got {show(version)}")
    if version > VERSION:
        raise GraphFormatError("version", f"this file is version {version}; this program reads "
                               f"versions up to {VERSION}: update Model Composer to open it")
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise GraphFormatError("version", f"version {version} is not a known graph format "
                                   "version")
        data = _migrated(step, data, version)
        version = data["version"]
    return data


def _migrated(step: Callable[[dict[str, Any]], dict[str, Any]], data: dict[str, Any],
              version: int) -> dict[str, Any]:
    """One migration step, on a copy. A version-`version` file the step cannot handle is a
    GraphFormatError like any malformed file; a step that does not move the version on is
    refused rather than run for ever."""
    try:
        new = step(copy.deepcopy(data))
    except GraphFormatError:
        raise
    except Exception as e:
        raise GraphFormatError("version", f"cannot bring this version {version} file up to "
                               f"date: {type(e).__name__}: {e}") from e
    after = new.get("version") if isinstance(new, dict) else None
    if isinstance(after, bool) or not isinstance(after, int) or not version < after <= VERSION:
        raise GraphFormatError("version", f"the migration from version {version} gave version "
                               f"{show(after)}; expected {version + 1} to {VERSION}")
    return new


def _level(data: dict[str, Any], where: str, graph: Graph) -> None:
    """The nodes and edges of the top level, or of a network's inside (`where` its place)."""
    place = f"{where}." if where else ""
    nodes = expect(data.get("nodes", []), list, f"{place}nodes", "a list")
    for i, obj in enumerate(nodes):
        node = _node(obj, f"{place}nodes[{i}]", graph)
        if node.id in graph.nodes:
            raise GraphFormatError(f"{place}nodes[{i}].id", f"duplicate node id \"{node.id}\"")
        if where and node.weights is not None:
            raise GraphFormatError(f"{place}nodes[{i}] ({node.id}).weights",
                                   "weights files are set on the top level, on the node or "
                                   "instance that uses this network")
        graph.nodes[node.id] = node
    for i, node in enumerate(graph.nodes.values()):
        if node.shares is not None and node.shares not in graph.nodes:
            raise GraphFormatError(f"{place}nodes[{i}] ({node.id}).shares",
                                   f"no node \"{node.shares}\""
                                   f"{suggest(node.shares, list(graph.nodes))}")
    for i, obj in enumerate(expect(data.get("edges", []), list, f"{place}edges", "a list")):
        graph.edges.append(_edge(obj, f"{place}edges[{i}]", graph))


def _networks(value: Any, graph: Graph) -> None:
    """The file's networks, each read after the networks its instances use, so that every
    instance node's type is known when its node is read; a network that contains itself is
    refused with the chain."""
    expect(value, dict, "networks", "an object of networks by name")
    for name, obj in value.items():
        where = f"networks.{name}"
        if not isinstance(name, str) or not networks.NAME.match(name):
            raise GraphFormatError(where, f"{show(name)} is not a network name: it becomes a "
                                   "class name, so start with a capital letter and use letters, "
                                   "digits and _")
        expect(obj, dict, where, "a network object")
        _check_keys(obj, NETWORK_KEYS, where, "a network")
    used = {name: _used_networks(obj, f"networks.{name}", value) for name, obj in value.items()}
    done: list[str] = []

    def read(name: str, chain: list[str]) -> None:
        if name in done:
            return
        if name in chain:
            loop = " -> ".join(chain[chain.index(name):] + [name])
            raise GraphFormatError(f"networks.{chain[0]}",
                                   f"a network cannot contain itself: {loop}")
        for other in used[name]:
            read(other, [*chain, name])
        graph.add_network(_network(name, value[name], graph))
        done.append(name)

    for name in value:
        read(name, [])


def _known_networks(name: str, known: list[str]) -> str:
    """A did-you-mean, or else the networks there are."""
    hint = suggest(name, known)
    if hint or not known:
        return hint or "; it defines none (see \"networks\")"
    return f"; it defines {', '.join(sorted(known))}"


def _used_networks(obj: dict[str, Any], where: str, known: dict[str, Any]) -> list[str]:
    """The networks a network's nodes are instances of (refusing unknown ones)."""
    found = []
    nodes = expect(obj.get("nodes", []), list, f"{where}.nodes", "a list")
    for i, node in enumerate(nodes):
        type_id = node.get("type") if isinstance(node, dict) else None
        name = networks.network_name(type_id) if isinstance(type_id, str) else None
        if name is None:
            continue
        if name not in known:
            raise GraphFormatError(f"{where}.nodes[{i}].type", f"no network \"{name}\" in "
                                   f"this file{_known_networks(name, list(known))}")
        found.append(name)
    return found


def _network(name: str, obj: dict[str, Any], graph: Graph) -> Network:
    where = f"networks.{name}"
    inner = Graph(name)
    inner.networks = graph.networks
    _level(obj, where, inner)
    for i, node in enumerate(inner.nodes.values()):
        t = inner.type_of(node)
        if t.category not in (*networks.INNER_CATEGORIES, "network"):
            raise GraphFormatError(f"{where}.nodes[{i}] ({node.id}).type",
                                   f"a network holds layer, block, merge and op nodes and "
                                   f"instances of other networks; {t.category} nodes such as "
                                   f"{t.id} stay on the top level")
    network = Network(name, inner,
                      expect(obj.get("description", ""), str, f"{where}.description",
                             "a string"))
    inputs = expect(obj.get("inputs", {}), dict, f"{where}.inputs", "an object")
    for port, refs in inputs.items():
        place = f"{where}.inputs.{port}"
        validate.identifier(port, place, "port")
        expect(refs, list, place, 'a list of inner input ports "node.port"')
        if not refs:
            raise GraphFormatError(place, "an input feeds at least one inner port")
        for i, ref in enumerate(refs):
            _port_ref(ref, f"{place}[{i}]", inner, output=False)
        network.inputs[port] = list(refs)
    outputs = expect(obj.get("outputs", {}), dict, f"{where}.outputs", "an object")
    for port, ref in outputs.items():
        place = f"{where}.outputs.{port}"
        validate.identifier(port, place, "port")
        _port_ref(ref, place, inner, output=True)
        network.outputs[port] = ref
    if not network.outputs:
        raise GraphFormatError(f"{where}.outputs", "a network needs at least one output")
    params = expect(obj.get("params", {}), dict, f"{where}.params", "an object")
    for param, decl in params.items():
        network.params[param] = _network_param(decl, f"{where}.params.{param}", param, inner)
    network.graph.ui = _ui(obj.get("ui", {}), f"{where}.ui")
    return network


def _network_param(obj: Any, where: str, name: str, inner: Graph) -> NetworkParam:
    validate.identifier(name, where, "parameter")
    expect(obj, dict, where, 'an object with "default" and "sets"')
    _check_keys(obj, NETWORK_PARAM_KEYS, where, "a network parameter")
    if "default" not in obj:
        raise GraphFormatError(where, 'a network parameter needs "default"')
    sets = expect(obj.get("sets", []), list, f"{where}.sets", 'a list of "node.param"')
    if not sets:
        raise GraphFormatError(f"{where}.sets", "a network parameter sets at least one inner "
                               "parameter")
    default = obj["default"]
    for i, target in enumerate(sets):
        place = f"{where}.sets[{i}]"
        expect(target, str, place, 'an inner parameter "node.param"')
        node_id, dot, param = target.partition(".")
        if not dot or node_id not in inner.nodes:
            raise GraphFormatError(place, f"no inner node \"{node_id}\""
                                   f"{suggest(node_id, list(inner.nodes))}")
        t = inner.type_of(inner.nodes[node_id])
        decl = t.param(param)
        if decl is None:
            known = [p.name for p in t.params]
            raise GraphFormatError(place, f"{t.id} {node_id} has no parameter \"{param}\""
                                   f"{suggest(param, known)}")
        if not decl.network_param:
            raise GraphFormatError(place, f"{node_id}.{param} cannot be set by a network "
                                   f"parameter; set {param} on {node_id} inside the network")
        default = validate.value(decl, obj["default"], f"{where}.default")
    doc = expect(obj.get("doc", ""), str, f"{where}.doc", "a string")
    return NetworkParam(default, list(sets), doc)


def from_dict(data: Any) -> Graph:
    """A validated Graph from parsed JSON. Raises GraphFormatError naming the place."""
    expect(data, dict, "", "a JSON object at the top of the file")
    if data.get("format") != FORMAT_NAME:
        raise GraphFormatError("format", f"expected \"{FORMAT_NAME}\", got "
                               f"{show(data.get('format'))}: is this a graph file?")
    if isinstance(data.get("ui"), dict):
        _ui(data["ui"], "ui")  # before migrating copies it: nesting has a limit
    data = migrate(data)
    _check_keys(data, TOP_KEYS, "", "the file")
    graph = Graph(expect(data.get("name", "Untitled"), str, "name", "a string"),
                  expect(data.get("description", ""), str, "description", "a string"))
    _networks(data.get("networks", {}), graph)
    _level(data, "", graph)
    for i, obj in enumerate(expect(data.get("groups", []), list, "groups", "a list")):
        group = _group(obj, f"groups[{i}]", graph)
        if graph.group(group.id) is not None:
            raise GraphFormatError(f"groups[{i}].id", f"duplicate group id \"{group.id}\"")
        graph.groups.append(group)
    graph.training = _training(data.get("training", {}))
    graph.ui = _ui(data.get("ui", {}), "ui")
    return graph


def loads(text: str) -> Graph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise GraphFormatError(where, f"not valid JSON: {e.msg}") from e
    except RecursionError as e:
        raise GraphFormatError("", "JSON nested too deeply") from e
    return from_dict(data)


def load(path: str | os.PathLike) -> Graph:
    """Reads a graph file. Raises GraphFormatError (file name first) for any malformed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise GraphFormatError(str(path), "not a UTF-8 text file") from e
    except OSError as e:
        raise GraphFormatError(str(path), f"cannot read: {e.strerror or e}") from e
    try:
        graph = loads(text)
    except GraphFormatError as e:
        raise GraphFormatError(f"{path.name}: {e.where}" if e.where else path.name,
                               e.detail) from e
    graph.base_dir = path.resolve().parent
    return graph


def dumps(graph: Graph) -> str:
    """The file's text: stable key order, so the same graph always gives the same bytes."""
    return json.dumps(graph.to_dict(), indent=2, ensure_ascii=False) + "\n"


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Writes atomically (see write_text_atomic): a failure leaves the old file as it was."""
    write_text_atomic(path, dumps(graph))
