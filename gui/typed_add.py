"""A block typed with its values: `linear 256`, `dropout 0.3`, `reshape 1,8,8`,
`bce_logits target=0`.

The words find the type, as any search does; the values after them set its parameters: plain
values its key parameters in order (or, for a type without any, its parameters in order), and
`name=value` the parameter whose name starts so. Each value is read and validated by the
parameter's own declaration, so a wrong one is refused with the reason before anything is
added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from composer.catalogue.base import NodeType
from composer.errors import ParamError
from gui.editing import validated
from gui.param_widgets import parse_value

VALUE_START = "0123456789-+.[("


@dataclass
class Query:
    words: list[str] = field(default_factory=list)  # what finds the type
    values: list[str] = field(default_factory=list)  # plain values, in order
    named: dict[str, str] = field(default_factory=dict)  # name (or its start) -> value


def is_value(token: str) -> bool:
    return "=" in token or token[:1] in VALUE_START


def parse(text: str) -> Query:
    """Splits what was typed into search words and values (the first word always searches,
    so `conv2d` or `l1` find their types)."""
    query = Query()
    for i, token in enumerate(text.split()):
        if i == 0 or not is_value(token):
            query.words.append(token.lower())
        elif "=" in token:
            name, _, value = token.partition("=")
            query.named[name.lower()] = value
        else:
            query.values.append(token)
    return query


def rank(words: list[str], type_id: str, name: str) -> int:
    """How well a type fits what was typed: 0 when its name starts with the first word, 1
    when its id holds it, 2 when only its description does (ties go by catalogue order)."""
    first = words[0] if words else ""
    return 0 if name.lower().startswith(first) else 1 if first in type_id.lower() else 2


def params_for(node_type: NodeType, query: Query) -> dict[str, Any]:
    """The parameter values a query sets on a node of this type, validated; ParamError
    names the parameter and says what it expects."""
    order = [node_type.param(n) for n in node_type.key_params] or list(node_type.params)
    if len(query.values) > len(order):
        names = ", ".join(p.name for p in order) or "none"
        raise ParamError(f"{node_type.id} takes {len(order)} value(s) in order ({names}), "
                         f"got {len(query.values)}")
    chosen = list(zip(order, query.values, strict=False))
    for start, text in query.named.items():
        matches = [p for p in node_type.params if p.name.startswith(start)]
        exact = [p for p in matches if p.name == start]
        if len(exact or matches) != 1:
            known = ", ".join(p.name for p in node_type.params) or "none"
            raise ParamError(f"{node_type.id} has no single parameter starting {start!r} "
                             f"(it has: {known})")
        chosen.append(((exact or matches)[0], text))
    params = {}
    for param, text in chosen:
        try:
            params[param.name] = validated(node_type, param.name, parse_value(param, text))
        except ParamError as e:
            raise ParamError(f"{node_type.id} {param.name}: {e}") from e
    return params
