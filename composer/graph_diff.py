"""What differs between two graphs, as lines a person reads: `group disc: lr 0.0005 -> 0.0002`,
`node fc1: out_features 256 -> 128`, `node d2: added (layer.dropout)`,
`edge a.out -> b.x: removed`, `training: epochs 3 -> 5`, `network D, node c1: ...`.

Only what trains counts: `ui` keys (positions, colours) are never differences, and a parameter
left at its default equals the default written out. The order is fixed: the graph's name and
description, training settings, nodes (the old file's order, then the new nodes), edges,
groups, then networks by name, each with its own nodes and edges.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from composer.graph import Graph, Group, Node
from composer.optim import LR_SCHEDULES, OPTIMIZERS

UNSET = "(unset)"


def diff_graphs(old: Graph, new: Graph) -> list[str]:
    """One line per difference from `old` to `new`; [] when they train the same way."""
    lines = _changes("graph", {"name": old.name, "description": old.description},
                     {"name": new.name, "description": new.description})
    lines += _changes("training", dataclasses.asdict(old.training),
                      dataclasses.asdict(new.training))
    lines += _level("", old, new)
    lines += _groups(old.groups, new.groups)
    lines += _networks(old, new)
    return lines


def value_text(value: Any) -> str:
    """A value as the file writes it; text bare unless it needs quotes to be seen."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value if value and value.strip() == value and " " not in value \
            else json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def _changes(subject: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`subject: key old -> new` for each (flattened) key whose value differs."""
    a, b = _flat(old), _flat(new)
    lines = []
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key, UNSET) != b.get(key, UNSET):
            lines.append(f"{subject}: {key} {_text(a, key)} -> {_text(b, key)}")
    return lines


def _text(values: dict[str, Any], key: str) -> str:
    return value_text(values[key]) if key in values else UNSET


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (lists stay whole); `ui` left out at every depth."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "ui":
            continue
        if isinstance(value, dict) and value:
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


# --- nodes and edges of one level ----------------------------------------------------------
def _level(where: str, old: Graph, new: Graph) -> list[str]:
    lines = []
    for node_id in [*old.nodes, *(n for n in new.nodes if n not in old.nodes)]:
        a, b = old.nodes.get(node_id), new.nodes.get(node_id)
        subject = f"{where}node {node_id}"
        if b is None:
            lines.append(f"{subject}: removed ({a.type})")
        elif a is None:
            lines.append(f"{subject}: added ({b.type})")
        elif a.type != b.type:
            lines.append(f"{subject}: type {a.type} -> {b.type}")
            lines += _changes(subject, {"params": a.params}, {"params": b.params})
        else:
            lines += _changes(subject, _node_fields(old, a), _node_fields(new, b))
    before, after = set(old.edges), set(new.edges)
    lines += [f"{where}edge {e}: removed" for e in old.edges if e not in after]
    lines += [f"{where}edge {e}: added" for e in new.edges if e not in before]
    return lines


def _node_fields(level: Graph, node: Node) -> dict[str, Any]:
    """What trains of a node: its parameters with defaults filled in, label, ties, weights."""
    declared = level.type_of(node)
    try:
        params = declared.resolve(node.params) if declared is not None else dict(node.params)
    except (TypeError, ValueError, KeyError):  # a type that cannot fill in: compare as written
        params = dict(node.params)
    fields: dict[str, Any] = dict(params)
    fields |= {"label": node.label, "shares": node.shares}
    if node.weights is not None:
        fields["weights"] = dict(node.weights)
    return fields


# --- groups --------------------------------------------------------------------------------
def _groups(old: list[Group], new: list[Group]) -> list[str]:
    a = {g.id: g for g in old}
    b = {g.id: g for g in new}
    lines = []
    for group_id in [*a, *(g for g in b if g not in a)]:
        subject = f"group {group_id}"
        if group_id not in b:
            lines.append(f"{subject}: removed")
        elif group_id not in a:
            lines.append(f"{subject}: added ({', '.join(b[group_id].losses) or 'no losses'})")
        else:
            lines += _group_changes(subject, a[group_id], b[group_id])
    return lines


def _group_changes(subject: str, a: Group, b: Group) -> list[str]:
    lines = []
    for key, singular in (("members", "member"), ("losses", "loss")):
        was, now = getattr(a, key), getattr(b, key)
        lines += [f"{subject}: {singular} {x} removed" for x in was if x not in now]
        lines += [f"{subject}: {singular} {x} added" for x in now if x not in was]
    lines += _changes(subject, _optimizer(a.optimizer), _optimizer(b.optimizer))
    lines += _changes(subject, _schedules(a), _schedules(b))
    return lines


def _filled(settings: dict[str, Any], table: dict[str, tuple]) -> dict[str, Any]:
    """An optimizer's or LR schedule's arguments with their defaults filled in."""
    declared = table.get(settings.get("type"), ()) if isinstance(settings.get("type"), str) \
        else ()
    return {p.name: p.default for p in declared} | {k: v for k, v in settings.items()
                                                    if k != "type"}


def _optimizer(settings: dict[str, Any]) -> dict[str, Any]:
    """`optimizer adam`, then its arguments by their torch names (`lr`, `betas`)."""
    return {"optimizer": settings.get("type"), **_filled(settings, OPTIMIZERS)}


def _schedules(group: Group) -> dict[str, Any]:
    lr = group.lr_schedule
    return {"schedule": dict(group.schedule),
            "lr_schedule": {"type": lr.get("type"), **_filled(lr, LR_SCHEDULES)},
            "clip_grad_norm": group.clip_grad_norm}


# --- networks ------------------------------------------------------------------------------
def _networks(old: Graph, new: Graph) -> list[str]:
    lines = []
    for name in sorted(set(old.networks) | set(new.networks)):
        a, b = old.networks.get(name), new.networks.get(name)
        subject = f"network {name}"
        if b is None:
            lines.append(f"{subject}: removed")
        elif a is None:
            lines.append(f"{subject}: added ({len(b.graph.nodes)} nodes)")
        else:
            da, db = a.to_dict(), b.to_dict()
            keys = ("description", "params", "inputs", "outputs")
            lines += _changes(subject, {k: da[k] for k in keys}, {k: db[k] for k in keys})
            lines += _level(f"{subject}, ", a.graph, b.graph)
    return lines
