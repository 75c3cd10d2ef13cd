"""Reading and writing graph files (docs/FORMAT.md, version 1).

Loading validates everything and never executes anything from the file. Every refusal is a
GraphFormatError whose message starts with the place in the file (`nodes[3].params.kernel_size`).
"""

from __future__ import annotations

import copy
import difflib
import json
import keyword
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer import catalogue
from composer.atomic_write import write_text_atomic
from composer.errors import GraphFormatError, ParamError
from composer.graph import (
    DEFAULT_LR_SCHEDULE,
    DEFAULT_OPTIMIZER,
    DEFAULT_SCHEDULE,
    Edge,
    Graph,
    Group,
    Node,
    Training,
)
from composer.optim import DEVICES, LR_SCHEDULES, OPTIMIZERS, SCHEDULE
from composer.params import Float, Int, Param

FORMAT_NAME = "composer-graph"
VERSION = 1

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Attributes of torch.nn.Module that a node id (a submodule name) must not replace.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "smart_apply", "state_dict", "to", "to_empty", "train", "training", "type",
    "xpu", "zero_grad", "self", "needed", "outputs", "inputs", "batch",
})
INFERRED_SIZES = ("in_channels", "in_features", "num_features", "normalized_shape",
                  "embed_dim")

TOP_KEYS = ("format", "version", "name", "description", "nodes", "edges", "groups",
            "training", "ui")
NODE_KEYS = ("id", "type", "params", "label", "shares", "ui")
GROUP_KEYS = ("id", "members", "losses", "optimizer", "schedule", "lr_schedule",
              "clip_grad_norm", "ui")
TRAINING_KEYS = ("epochs", "seed", "device", "steps_per_epoch")
MAX_UI_DEPTH = 32  # levels of objects and lists in a "ui" value

# version -> function turning a dict of that version into one of the next version.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _show(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """'; did you mean x?' when a known name is close, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _expect(value: Any, kind: type | tuple, where: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise GraphFormatError(where, f"expected {what}, got {_show(value)}")
    return value


def _check_keys(obj: dict, allowed: tuple[str, ...], where: str, what: str) -> None:
    for key in obj:
        if key not in allowed:
            raise GraphFormatError(f"{where}.{key}" if where else str(key),
                                   f"unknown key of {what}{suggest(str(key), allowed)}")


def _identifier(value: Any, where: str, what: str) -> str:
    _expect(value, str, where, f"{what} id (a string)")
    if not IDENTIFIER.match(value):
        raise GraphFormatError(where, f"{_show(value)} is not a valid {what} id: use letters, "
                               "digits and _, not starting with a digit")
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise GraphFormatError(where, f"{_show(value)} is a Python keyword; choose another id")
    return value


def check_node_id(value: Any, where: str = "id") -> str:
    """A node id becomes a Python attribute of the compiled module: an identifier, not a
    keyword, not a name torch.nn.Module uses, not starting with __. Raises GraphFormatError."""
    node_id = _identifier(value, where, "node")
    if node_id in MODULE_ATTRIBUTES:
        raise GraphFormatError(where, f"\"{node_id}\" is a name torch.nn.Module uses; "
                               "choose another id")
    if node_id.startswith("__"):  # self.__x is renamed inside a class; __class__ is Python's
        raise GraphFormatError(where, f"\"{node_id}\" starts with __, which Python keeps for "
                               "its own names; choose another id")
    return node_id


def _validate_param(decl: Param, value: Any, where: str) -> Any:
    try:
        return decl.validate(value)
    except ParamError as e:
        raise GraphFormatError(where, str(e)) from e


def _settings(obj: Any, decls: tuple[Param, ...], where: str, owner: str,
              skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Validates an object of named settings against declarations."""
    _expect(obj, dict, where, "an object")
    names = [d.name for d in decls]
    out = {}
    for key, value in obj.items():
        if key in skip:
            continue
        decl = next((d for d in decls if d.name == key), None)
        if decl is None:
            raise GraphFormatError(f"{where}.{key}", f"unknown setting of {owner}"
                                   f"{suggest(str(key), names) or '; it takes ' + ', '.join(names)}"
                                   if names else f"{owner} takes no settings")
        out[key] = _validate_param(decl, value, f"{where}.{key}")
    return out


def _ui(value: Any, where: str) -> dict[str, Any]:
    """GUI-only state: any JSON object, carried as it is, but not nested so deep that saving
    or copying the graph would run out of stack."""
    _expect(value, dict, where, "an object")
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_UI_DEPTH:
            raise GraphFormatError(where, f"nested more than {MAX_UI_DEPTH} levels deep")
        level = [v for item in level for v in (item.values() if isinstance(item, dict) else item)
                 if isinstance(v, dict | list)]
    return value


def _node(obj: Any, where: str) -> Node:
    _expect(obj, dict, where, "a node object")
    _check_keys(obj, NODE_KEYS, where, "a node")
    for key in ("id", "type"):
        if key not in obj:
            raise GraphFormatError(where, f"a node needs \"{key}\"")
    node_id = check_node_id(obj["id"], f"{where}.id")
    type_id = _expect(obj["type"], str, f"{where}.type", "a node type name")
    node_type = catalogue.get(type_id)
    if node_type is None:
        raise GraphFormatError(f"{where}.type", f"unknown node type \"{type_id}\""
                               f"{suggest(type_id, catalogue.type_ids())}")
    params = _expect(obj.get("params", {}), dict, f"{where}.params", "an object")
    clean = {}
    for name, value in params.items():
        place = f"{where}.params.{name}"
        decl = node_type.param(name)
        if decl is None:
            if name in INFERRED_SIZES:
                raise GraphFormatError(place, f"{name} is inferred from the input's shape; "
                                       "remove it")
            raise GraphFormatError(place, f"unknown parameter of {node_type.id}"
                                   f"{suggest(name, [p.name for p in node_type.params])}")
        clean[name] = _validate_param(decl, value, place)
    label = obj.get("label")
    if label is not None:
        _expect(label, str, f"{where}.label", "a string")
    shares = obj.get("shares")
    if shares is not None:
        _identifier(shares, f"{where}.shares", "node")
    ui = _ui(obj.get("ui", {}), f"{where}.ui")
    return Node(node_id, node_type.id, clean, label, shares, ui)


def _port_ref(value: Any, where: str, graph: Graph, output: bool) -> tuple[str, str]:
    _expect(value, str, where, 'a port reference "node.port"')
    node_id, dot, port = value.partition(".")
    if not dot or not node_id or not port:
        raise GraphFormatError(where, f"expected \"node.port\", got {_show(value)}")
    if node_id not in graph.nodes:
        raise GraphFormatError(where, f"no node \"{node_id}\"{suggest(node_id, list(graph.nodes))}")
    node = graph.nodes[node_id]
    node_type = node.node_type
    if output:
        names = [p.name for p in node_type.outputs]
    else:
        names = [p.name for p in node_type.input_ports(node.resolved_params())]
    if port not in names:
        side = "output" if output else "input"
        have = ", ".join(names) or "none"
        raise GraphFormatError(where, f"{node_type.id} {node_id} has no {side} port \"{port}\" "
                               f"(its {side}s: {have})")
    return node_id, port


def _edge(obj: Any, where: str, graph: Graph) -> Edge:
    _expect(obj, dict, where, "an edge object")
    _check_keys(obj, ("from", "to"), where, "an edge")
    for key in ("from", "to"):
        if key not in obj:
            raise GraphFormatError(where, f"an edge needs \"{key}\"")
    src, src_port = _port_ref(obj["from"], f"{where}.from", graph, output=True)
    dst, dst_port = _port_ref(obj["to"], f"{where}.to", graph, output=False)
    return Edge(src, src_port, dst, dst_port)


def _id_list(value: Any, where: str, graph: Graph) -> list[str]:
    _expect(value, list, where, "a list of node ids")
    for i, item in enumerate(value):
        _expect(item, str, f"{where}[{i}]", "a node id")
        if item not in graph.nodes:
            raise GraphFormatError(f"{where}[{i}]", f"no node \"{item}\""
                                   f"{suggest(item, list(graph.nodes))}")
    return list(value)


def _schedule(obj: Any, where: str) -> dict[str, Any]:
    clean = dict(DEFAULT_SCHEDULE) | _settings(obj, SCHEDULE, where, "a schedule",
                                               skip=("epochs",))
    epochs = obj.get("epochs", [0, None])
    ok = (isinstance(epochs, list) and len(epochs) == 2
          and isinstance(epochs[0], int) and not isinstance(epochs[0], bool) and epochs[0] >= 0
          and (epochs[1] is None or (isinstance(epochs[1], int)
                                     and not isinstance(epochs[1], bool)
                                     and epochs[1] > epochs[0])))
    if not ok:
        raise GraphFormatError(f"{where}.epochs", "expected [first, end] with 0 <= first < end "
                               f"(end null for no end), got {_show(epochs)}")
    clean["epochs"] = list(epochs)
    return clean


def _typed_settings(obj: Any, table: dict[str, tuple[Param, ...]], where: str,
                    what: str) -> dict[str, Any]:
    _expect(obj, dict, where, "an object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise GraphFormatError(f"{where}.type", f"expected one of {', '.join(table)}, got "
                               f"{_show(kind)}{suggest(str(kind), list(table))}")
    return {"type": kind} | _settings(obj, table[kind], where, f"{what} {kind}", skip=("type",))


def _group(obj: Any, where: str, graph: Graph) -> Group:
    _expect(obj, dict, where, "a group object")
    _check_keys(obj, GROUP_KEYS, where, "a group")
    if "id" not in obj:
        raise GraphFormatError(where, 'a group needs "id"')
    group = Group(_identifier(obj["id"], f"{where}.id", "group"))
    group.members = _id_list(obj.get("members", []), f"{where}.members", graph)
    group.losses = _id_list(obj.get("losses", []), f"{where}.losses", graph)
    group.optimizer = _typed_settings(obj.get("optimizer", DEFAULT_OPTIMIZER), OPTIMIZERS,
                                      f"{where}.optimizer", "optimizer")
    group.schedule = _schedule(obj.get("schedule", DEFAULT_SCHEDULE), f"{where}.schedule")
    group.lr_schedule = _typed_settings(obj.get("lr_schedule", DEFAULT_LR_SCHEDULE),
                                        LR_SCHEDULES, f"{where}.lr_schedule", "LR schedule")
    clip = obj.get("clip_grad_norm")
    if clip is not None:
        clip = _validate_param(Float("clip_grad_norm", None, min=0.0, min_exclusive=True), clip,
                               f"{where}.clip_grad_norm")
    group.clip_grad_norm = clip
    group.ui = _ui(obj.get("ui", {}), f"{where}.ui")
    return group


def group_settings_problems(group: Group) -> list[GraphFormatError]:
    """Each of a group's settings validated on its own, as loading would (for checks of a
    graph that a program or a widget edited)."""
    problems = []
    validators = (
        lambda: _typed_settings(group.optimizer, OPTIMIZERS, "optimizer", "optimizer"),
        lambda: _schedule(group.schedule, "schedule"),
        lambda: _typed_settings(group.lr_schedule, LR_SCHEDULES, "lr_schedule", "LR schedule"),
        lambda: group.clip_grad_norm is None or _validate_param(
            Float("clip_grad_norm", None, min=0.0, min_exclusive=True), group.clip_grad_norm,
            "clip_grad_norm"),
    )
    for validate in validators:
        try:
            validate()
        except GraphFormatError as e:
            problems.append(e)
    return problems


def training_problem(training: Training) -> GraphFormatError | None:
    """What loading would refuse in training settings a program or a widget set."""
    try:
        _training(training.to_dict())
    except GraphFormatError as e:
        return e
    return None


def _training(obj: Any) -> Training:
    where = "training"
    _expect(obj, dict, where, "an object")
    _check_keys(obj, TRAINING_KEYS, where, "training")
    t = Training()
    t.epochs = _validate_param(Int("epochs", 5, min=1, max=1_000_000), obj.get("epochs", 5),
                               f"{where}.epochs")
    t.seed = _validate_param(Int("seed", 0, min=0, max=2**32 - 1), obj.get("seed", 0),
                             f"{where}.seed")
    device = obj.get("device", "auto")
    _expect(device, str, f"{where}.device", "a device name")
    if device not in DEVICES and not re.fullmatch(r"cuda:\d+", device):
        raise GraphFormatError(f"{where}.device", f"expected one of {', '.join(DEVICES)} or "
                               f"cuda:N, got {_show(device)}")
    t.device = device
    spe = obj.get("steps_per_epoch")
    if spe is not None:
        spe = _validate_param(Int("steps_per_epoch", None, min=1), spe,
                              f"{where}.steps_per_epoch")
    t.steps_per_epoch = spe
    return t


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Brings a dict of an older version up to VERSION, one step at a time."""
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFormatError("version", f"expected an integer, got {_show(version)}")
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
                               f"{_show(after)}; expected {version + 1} to {VERSION}")
    return new


def from_dict(data: Any) -> Graph:
    """A validated Graph from parsed JSON. Raises GraphFormatError naming the place."""
    _expect(data, dict, "", "a JSON object at the top of the file")
    if data.get("format") != FORMAT_NAME:
        raise GraphFormatError("format", f"expected \"{FORMAT_NAME}\", got "
                               f"{_show(data.get('format'))}: is this a graph file?")
    data = migrate(data)
    _check_keys(data, TOP_KEYS, "", "the file")
    graph = Graph(_expect(data.get("name", "Untitled"), str, "name", "a string"),
                  _expect(data.get("description", ""), str, "description", "a string"))
    for i, obj in enumerate(_expect(data.get("nodes", []), list, "nodes", "a list")):
        node = _node(obj, f"nodes[{i}]")
        if node.id in graph.nodes:
            raise GraphFormatError(f"nodes[{i}].id", f"duplicate node id \"{node.id}\"")
        graph.nodes[node.id] = node
    for i, node in enumerate(graph.nodes.values()):
        if node.shares is not None and node.shares not in graph.nodes:
            raise GraphFormatError(f"nodes[{i}].shares", f"no node \"{node.shares}\""
                                   f"{suggest(node.shares, list(graph.nodes))}")
    for i, obj in enumerate(_expect(data.get("edges", []), list, "edges", "a list")):
        graph.edges.append(_edge(obj, f"edges[{i}]", graph))
    for i, obj in enumerate(_expect(data.get("groups", []), list, "groups", "a list")):
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
