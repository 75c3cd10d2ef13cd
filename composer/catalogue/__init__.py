"""The node catalogue: every node type, declared once, looked up by its stable id."""

from __future__ import annotations

from composer.catalogue import blocks, data, layers, losses, merge, ops, tables
from composer.catalogue.base import CATEGORIES, KINDS, DataOutput, NodeType, Port, Shape
from composer.errors import ComposerError
from composer.params import Float, Init


class CatalogueError(ComposerError):
    """A type declared twice, an alias that hides another type, or a declaration that breaks
    its category's contract."""


_TYPES: dict[str, NodeType] = {}
_ALIASES: dict[str, str] = {}


def contract_problems(t: NodeType) -> list[str]:
    """What a declaration gets wrong for its category; the rest of the program relies on these
    (a loss's `weight` and `loss` output, one output per computing node, data emission)."""
    problems = []
    if t.category not in CATEGORIES:
        problems.append(f"unknown category {t.category!r}")
    if not callable(t.inputs):
        problems += [f"port {p.name} has an unknown kind {p.kind!r}"
                     for p in (*t.inputs, *t.outputs) if p.kind not in KINDS]
    names = [p.name for p in t.params]
    if len(set(names)) < len(names):
        problems.append("a parameter is declared twice")
    problems += [f"key parameter {k!r} is not declared" for k in t.key_params if k not in names]
    problems += [f"output {p.name} needs {p.needs!r}, which is not an optional parameter"
                 for p in t.outputs if p.needs is not None
                 and not (t.param(p.needs) is not None and t.param(p.needs).optional)]
    if t.is_data:
        if t.data is None or t.emit_data is None:
            problems.append("a data node declares `data` (its shapes) and `emit_data`")
        if t.inputs or t.forward or t.module:
            problems.append("a data node has no inputs, forward or module")
    else:
        if t.forward is None or len(t.outputs) != 1:
            problems.append("a computing node declares `forward` and exactly one output")
        if t.emit_data or t.samples or t.data:
            problems.append("only data nodes declare `data`, `emit_data` or `samples`")
    if t.is_loss:
        if t.outputs != (Port("loss", "loss"),):
            problems.append("a loss has exactly one output, Port(\"loss\", \"loss\")")
        if not isinstance(t.param("weight"), Float):
            problems.append("a loss declares a Float parameter `weight` (its weight in its "
                            "group's objective)")
    if t.accuracy and not (t.is_loss and not callable(t.inputs)
                           and [p.name for p in t.inputs] == ["pred", "target"]):
        problems.append("`accuracy` is for losses with inputs pred (logits) and target (ids)")
    if t.module is not None and not isinstance(t.param("init"), Init):
        problems.append("a type with a module declares an Init parameter `init` (how its "
                        "weights start)")
    if t.module is None and t.param("init") is not None:
        problems.append("`init` is for types with a module (weights to start)")
    if t.weights is not None and t.module is None:
        problems.append("`weights` counts a module's parameters: declare `module` too")
    if t.shape is not None and t.module is not None and t.weights is None:
        problems.append("with a `shape` rule and a module, declare `weights` too")
    return problems


def register(node_type: NodeType) -> None:
    """Adds a type. Ids and aliases must be unique across the whole catalogue, and the
    declaration must keep its category's contract (see contract_problems)."""
    for name in (node_type.id, *node_type.aliases):
        if name in _TYPES or name in _ALIASES:
            raise CatalogueError(f"node type {name!r} is declared twice")
    problems = contract_problems(node_type)
    if problems:
        raise CatalogueError(f"{node_type.id}: " + "; ".join(problems))
    _TYPES[node_type.id] = node_type
    for alias in node_type.aliases:
        _ALIASES[alias] = node_type.id


def get(type_id: str) -> NodeType | None:
    """The type for an id or one of its old aliases; None when unknown (or not a string)."""
    if not isinstance(type_id, str):
        return None
    return _TYPES.get(_ALIASES.get(type_id, type_id))


def canonical(type_id: str) -> str:
    return _ALIASES.get(type_id, type_id)


def all_types() -> list[NodeType]:
    """Every type in category order, then declaration order."""
    return sorted(_TYPES.values(), key=lambda t: CATEGORIES.index(t.category))


def type_ids() -> list[str]:
    return [t.id for t in all_types()]


def suggest_types(name: str, most: int = 3) -> str:
    """'; did you mean x or y?' for an unknown type id, by meaning as well as spelling: a
    keyword the type declares (`loss.huber` -> loss.smooth_l1, `layer.dense` -> layer.linear),
    a short name it starts (`merge.cat` -> merge.concat), or a close spelling."""
    import difflib

    short = name.rsplit(".", 1)[-1].lower()
    found = [t.id for t in all_types() if short in t.keywords or short == t.id.split(".")[1]]
    found = found or [t.id for t in all_types()
                      if len(short) >= 2 and t.id.split(".")[1].startswith(short)]
    found = (found or difflib.get_close_matches(name, type_ids(), n=2, cutoff=0.6))[:most]
    if not found:
        return ""
    return "; did you mean " + (" or ".join([", ".join(found[:-1]), found[-1]])
                                if len(found) > 1 else found[0]) + "?"


for _module in (data, tables, layers, blocks, merge, ops, losses):
    for _type in _module.TYPES:
        register(_type)

__all__ = ["CATEGORIES", "KINDS", "CatalogueError", "DataOutput", "NodeType", "Port", "Shape",
           "all_types", "canonical", "get", "register", "suggest_types", "type_ids"]
