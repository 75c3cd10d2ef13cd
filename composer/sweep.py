"""Sweeps: one setting of a graph given several values, each value a variant graph to train.

A target is named in the words `composer runs --diff` prints (composer/graph_diff.py):
`node fc1: out_features`, `node mse: weight` (a loss weight is a loss node's parameter),
`group disc: lr`, `group disc: lr_schedule.gamma`, `training: epochs`, and inside a network
`network D, node fc1: out_features`. `fc1.out_features`, `disc.lr` and `training.epochs` are
accepted too. Every value is checked by the setting's own declaration, and every variant by
`composer.check`, before anything trains: a sweep that would fail on its third value fails
before its first run, with one line naming the target and the value.

Running the variants and their record: composer/sweep_runner.py, composer/sweep_record.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from composer import schedules
from composer.analysis.checks import check
from composer.errors import ComposerError, GraphFormatError, ParamError
from composer.fileformat import validate
from composer.graph import Graph
from composer.graph_diff import value_text
from composer.optim import LR_SCHEDULES, OPTIMIZERS
from composer.params import Param, Text
from composer.sweep_record import parse_metric


class SweepError(ComposerError):
    """A sweep that cannot start: the message names the target, and the value when one is
    at fault."""


@dataclass(frozen=True)
class Device(Text):
    """The training device, checked as the file format checks it."""

    kind = "device"

    def _check(self, value: Any) -> str:
        try:
            return validate.device(value, "")
        except GraphFormatError as e:
            raise ParamError(e.detail) from e

    def describe(self) -> str:
        return "auto, cpu, cuda, cuda:N or mps"


TRAINING = {p.name: p for p in (*validate.TRAINING, Device("device", "auto"))}
KINDS = ("node", "group", "training")
_FULL = re.compile(r"(?:network\s+(?P<network>\w+)\s*,\s*)?(?P<kind>node|group)\s+(?P<owner>\w+)"
                   r"\s*:\s*(?P<name>[\w.]+)")
_TRAINING = re.compile(r"training\s*[:.]\s*(?P<name>\w+)")
_DOTTED = re.compile(r"(?P<owner>\w+)\.(?P<name>[\w.]+)")
FORMS = ("node ID: PARAM", "group ID: SETTING", "training: SETTING",
         "network NAME, node ID: PARAM")


@dataclass(frozen=True)
class Target:
    """What a sweep varies. `owner` is a node or group id (None for training); `name` a node's
    parameter, a group's setting (`lr`, `clip_grad_norm`, `schedule.every`,
    `lr_schedule.gamma`) or a training setting; `network` the network holding the node."""

    kind: str
    owner: str | None
    name: str
    network: str | None = None

    @property
    def text(self) -> str:
        """As graph_diff writes it: `group disc: lr`."""
        if self.kind == "training":
            return f"training: {self.name}"
        subject = f"{self.kind} {self.owner}"
        return f"network {self.network}, {subject}: {self.name}" if self.network else \
            f"{subject}: {self.name}"

    def label(self, value: Any) -> str:
        """A run's label: `lr=0.0002`."""
        return f"{self.name}={value_text(value)}"


@dataclass
class Variant:
    value: Any  # as the declaration normalised it
    label: str  # `lr=0.0002`
    graph: Graph  # a copy of the graph with the value set


@dataclass
class Sweep:
    target: Target
    variants: list[Variant]

    @property
    def values(self) -> list[Any]:
        return [v.value for v in self.variants]


# --- targets -------------------------------------------------------------------------------
def parse_target(graph: Graph, text: str) -> Target:
    """A target from its words; raises SweepError saying what is unknown, with the closest
    name when one is close."""
    text = " ".join(str(text).split())
    if m := _TRAINING.fullmatch(text):
        target = Target("training", None, m["name"])
    elif m := _FULL.fullmatch(text):
        target = Target(m["kind"], m["owner"], m["name"], m["network"])
    elif m := _DOTTED.fullmatch(text):
        owner = m["owner"]
        kind = "group" if graph.group(owner) is not None and owner not in graph.nodes \
            else "node"
        target = Target(kind, owner, m["name"])
    else:
        raise SweepError(f"{text!r}: not a sweep target; write one of {', '.join(FORMS)} "
                         "(as `composer runs --diff` names them)")
    declaration(graph, target)
    return target


def settings_of(graph: Graph, target: Target) -> dict[str, Param]:
    """Every setting the target's owner has, by name: the declarations its values are
    checked by. Raises SweepError when the owner is unknown."""
    if target.kind == "training":
        return dict(TRAINING)
    if target.kind == "group":
        group = graph.group(target.owner)
        if group is None:
            known = [g.id for g in graph.groups]
            raise SweepError(f"{target.text}: no group {target.owner!r}"
                             f"{validate.suggest(str(target.owner), known)}")
        return group_settings(group)
    level = _level(graph, target)
    node = level.nodes.get(target.owner)
    if node is None:
        where = f" in network {target.network}" if target.network else ""
        raise SweepError(f"{target.text}: no node {target.owner!r}{where}"
                         f"{validate.suggest(str(target.owner), list(level.nodes))}")
    t = level.type_of(node)
    if t is None:
        raise SweepError(f"{target.text}: node {target.owner} has an unknown type {node.type}")
    return {p.name: p for p in t.params}


def group_settings(group: Any) -> dict[str, Param]:
    """A group's sweepable settings: its optimiser's arguments, clip_grad_norm, its schedule
    and its LR schedule's arguments, named as graph_diff names them."""
    optimizer = OPTIMIZERS.get(group.optimizer.get("type"), ())
    lr_schedule = LR_SCHEDULES.get(group.lr_schedule.get("type"), ())
    return ({p.name: p for p in optimizer} | {"clip_grad_norm": validate.CLIP_GRAD_NORM}
            | {f"schedule.{p.name}": p for p in schedules.SETTINGS}
            | {f"lr_schedule.{p.name}": p for p in lr_schedule})


def declaration(graph: Graph, target: Target) -> Param:
    """The declaration a target's values are checked by; raises SweepError."""
    known = settings_of(graph, target)
    decl = known.get(target.name)
    if decl is None:
        owner = "training" if target.kind == "training" else f"{target.kind} {target.owner}"
        what = "parameter" if target.kind == "node" else "setting"
        hint = validate.suggest(target.name, list(known)) or \
            f"; it has {', '.join(known) or 'none'}"
        raise SweepError(f"{target.text}: {owner} has no {what} {target.name!r}{hint}")
    if target.network is not None:
        network = graph.networks[target.network]
        for name, p in network.params.items():
            if f"{target.owner}.{target.name}" in p.sets:
                raise SweepError(f"{target.text}: the network's parameter {name} sets it, so "
                                 f"each instance decides it; sweep an instance's {name}")
    return decl


def _level(graph: Graph, target: Target) -> Graph:
    if target.network is None:
        return graph
    network = graph.networks.get(target.network)
    if network is None:
        raise SweepError(f"{target.text}: no network {target.network!r}"
                         f"{validate.suggest(target.network, list(graph.networks))}")
    return network.graph


def current_value(graph: Graph, target: Target) -> Any:
    """The target's value in `graph`, defaults filled in."""
    if target.kind == "training":
        return getattr(graph.training, target.name)
    if target.kind == "node":
        return _level(graph, target).params_of(target.owner).get(target.name)
    group = graph.group(target.owner)
    part, _, key = target.name.rpartition(".")
    values = {"schedule": group.schedule, "lr_schedule": group.lr_schedule}.get(part)
    if values is not None:
        return values.get(key, declaration(graph, target).default)
    if target.name == "clip_grad_norm":
        return group.clip_grad_norm
    return group.optimizer.get(target.name, declaration(graph, target).default)


def sweepable(graph: Graph) -> list[Target]:
    """Every target of the graph, in the order a picker lists them: groups' settings, loss
    weights, the nodes' parameters (file order), training, then inside each network."""
    found = [Target("group", g.id, name) for g in graph.groups for name in group_settings(g)]
    nodes = [Target("node", node_id, p.name) for node_id, node in graph.nodes.items()
             if (t := graph.type_of(node)) is not None for p in t.params]
    found += [t for t in nodes if t.name == "weight" and _is_loss(graph, t.owner)]
    found += [t for t in nodes if not (t.name == "weight" and _is_loss(graph, t.owner))]
    found += [Target("training", None, name) for name in TRAINING]
    for name in sorted(graph.networks):
        level = graph.networks[name].graph
        for node_id, node in level.nodes.items():
            t = level.type_of(node)
            for p in t.params if t is not None else ():
                target = Target("node", node_id, p.name, name)
                try:
                    declaration(graph, target)
                except SweepError:
                    continue  # set by a network parameter
                found.append(target)
    return found


def _is_loss(graph: Graph, node_id: str) -> bool:
    t = graph.type_of(graph.nodes[node_id])
    return t is not None and t.category == "loss"


# --- values --------------------------------------------------------------------------------
def split_values(text: str) -> list[str]:
    """`0.1, 0.01` -> ["0.1", "0.01"]; commas inside brackets or quotes stay (`[0.5, 0.9]`)."""
    pieces, depth, quote, current = [], 0, False, ""
    for char in text:
        if char == '"':
            quote = not quote
        elif not quote and char in "[{":
            depth += 1
        elif not quote and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quote:
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def parse_value(text: str) -> Any:
    """A value as JSON writes it (`0.001`, `64`, `true`, `[0.5, 0.999]`, `"relu"`); a bare
    word is text (`relu`), and `none` is null."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def check_values(graph: Graph, target: Target, values: str | list[Any]) -> list[Any]:
    """The values normalised by the target's declaration (`64` for an integer, `0.001` as a
    float); raises SweepError naming the target and the first bad value."""
    decl = declaration(graph, target)
    given = [parse_value(v) for v in split_values(values)] if isinstance(values, str) \
        else list(values)
    if not given:
        raise SweepError(f"{target.text}: no values; give them separated by commas")
    clean: list[Any] = []
    for value in given:
        try:
            value = decl.validate(value)
        except ParamError as e:
            raise SweepError(f"{target.text}: {e}") from e
        if value in clean:
            raise SweepError(f"{target.text}: {value_text(value)} is listed twice")
        clean.append(value)
    return clean


# --- variants ------------------------------------------------------------------------------
def variant(graph: Graph, target: Target, value: Any) -> Graph:
    """A copy of `graph` with the target set to `value` (already checked)."""
    copy = graph.copy()
    if target.kind == "training":
        setattr(copy.training, target.name, value)
    elif target.kind == "node":
        _level(copy, target).set_param(target.owner, target.name, value)
    else:
        group = copy.group(target.owner)
        part, _, key = target.name.rpartition(".")
        if part in ("schedule", "lr_schedule"):
            getattr(group, part)[key] = value
        elif target.name == "clip_grad_norm":
            group.clip_grad_norm = value
        else:
            group.optimizer[target.name] = value
    return copy


def plan(graph: Graph, target: Target | str, values: str | list[Any]) -> Sweep:
    """The variants of a sweep, each checked: raises SweepError naming the value whose
    variant has an error (or the graph, when it has errors whatever the value)."""
    if isinstance(target, str):
        target = parse_target(graph, target)
    clean = check_values(graph, target, values)
    before = {str(d) for d in check(graph) if d.is_error}
    variants = []
    for value in clean:
        copy = variant(graph, target, value)
        errors = [d for d in check(copy) if d.is_error]
        if errors:
            first = errors[0]
            place = f"{first.node or 'graph'}: {first.message}"
            if str(first) in before:
                raise SweepError(f"the graph has errors; the first: {place}")
            raise SweepError(f"{target.text} = {value_text(value)}: {place}")
        variants.append(Variant(value, target.label(value), copy))
    return Sweep(target, variants)


def sort_metric(graph: Graph, text: str) -> tuple[str, str]:
    """`val:clf_loss` -> ("val", "clf_loss"), checked against the graph's loss nodes (an
    accuracy only where the loss reports one); raises SweepError."""
    try:
        kind, name = parse_metric(text)
    except ValueError as e:
        raise SweepError(f"--sort {e}") from e
    losses = [n for n, node in graph.nodes.items()
              if (t := graph.type_of(node)) is not None and t.category == "loss"
              and (kind != "accuracy" or t.accuracy)]
    if name not in losses:
        what = "loss node with an accuracy" if kind == "accuracy" else "loss node"
        hint = validate.suggest(name, losses) or f"; the graph's: {', '.join(losses) or 'none'}"
        raise SweepError(f"--sort {text}: no {what} {name!r}{hint}")
    return kind, name
