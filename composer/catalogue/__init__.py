"""The node catalogue: every node type, declared once, looked up by its stable id."""

from __future__ import annotations

from composer.catalogue import blocks, data, layers, losses, merge, ops
from composer.catalogue.base import CATEGORIES, KINDS, DataOutput, NodeType, Port, Shape
from composer.errors import ComposerError


class CatalogueError(ComposerError):
    """A type declared twice, or an alias that hides another type."""


_TYPES: dict[str, NodeType] = {}
_ALIASES: dict[str, str] = {}


def register(node_type: NodeType) -> None:
    """Adds a type. Ids and aliases must be unique across the whole catalogue."""
    for name in (node_type.id, *node_type.aliases):
        if name in _TYPES or name in _ALIASES:
            raise CatalogueError(f"node type {name!r} is declared twice")
    if node_type.category not in CATEGORIES:
        raise CatalogueError(f"{node_type.id}: unknown category {node_type.category!r}")
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


for _module in (data, layers, blocks, merge, ops, losses):
    for _type in _module.TYPES:
        register(_type)

__all__ = ["CATEGORIES", "KINDS", "CatalogueError", "DataOutput", "NodeType", "Port", "Shape",
           "all_types", "canonical", "get", "register", "type_ids"]
