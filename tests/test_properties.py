"""Properties of the file format over graphs generated from the catalogue (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer import catalogue
from composer.analysis.checks import check
from composer.analysis.diagnostics import Diagnostic
from composer.errors import GraphFormatError
from composer.fileformat import dumps, from_dict, loads
from composer.optim import LR_SCHEDULES, OPTIMIZERS
from composer.params import (
    AUGMENT_OPS,
    FAN_KINDS,
    INIT_KINDS,
    Augment,
    Bool,
    Choice,
    Float,
    Init,
    Int,
    IntList,
    Param,
    Split,
    Text,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)


def value_of(decl: Param) -> st.SearchStrategy:
    """Valid values of one declaration."""
    if isinstance(decl, Bool):
        return st.booleans()
    if isinstance(decl, Int):
        high = decl.max if decl.max is not None else (decl.min or 0) + 1000
        values = st.integers(decl.min if decl.min is not None else -1000, high)
    elif isinstance(decl, Float):
        values = st.floats(decl.min, decl.max, exclude_min=decl.min_exclusive,
                           allow_nan=False, allow_infinity=False)
    elif isinstance(decl, Choice):
        values = st.sampled_from(decl.choices)
    elif isinstance(decl, Text):
        values = SAFE_TEXT
    elif isinstance(decl, IntList):
        values = st.lists(st.integers(1, 64), min_size=decl.min_len, max_size=decl.max_len)
    elif isinstance(decl, Split):
        values = st.sampled_from([[0.8, 0.1, 0.1], [1.0, 0.0, 0.0], [0.5, 0.25, 0.25]])
    elif isinstance(decl, Augment):
        values = st.lists(augment_step(), max_size=3)
    elif isinstance(decl, Init):
        values = init_of(decl.fans)
    else:  # betas and other group settings
        values = st.just(decl.default)
    return st.none() | values if decl.optional else values


@st.composite
def augment_step(draw) -> dict:
    op = draw(st.sampled_from(sorted(AUGMENT_OPS)))
    return {"op": op, **{k: draw(value_of(d)) for k, d in AUGMENT_OPS[op].items()}}


@st.composite
def init_of(draw, fans: bool) -> dict:
    kind = draw(st.sampled_from([k for k in INIT_KINDS if fans or k not in FAN_KINDS]))
    return {"type": kind, **{k: draw(value_of(d)) for k, d in INIT_KINDS[kind].items()}}


@st.composite
def settings_of(draw, decls) -> dict:
    chosen = draw(st.lists(st.sampled_from(decls), unique_by=lambda d: d.name)) if decls else []
    return {d.name: draw(value_of(d)) for d in chosen}


@st.composite
def node_dicts(draw, index: int) -> dict:
    t = draw(st.sampled_from(catalogue.all_types()))
    node = {"id": f"n{index}", "type": t.id}
    if t.params:
        node["params"] = draw(settings_of(list(t.params)))
    if draw(st.booleans()):
        node["label"] = draw(SAFE_TEXT)
    if draw(st.booleans()):
        node["ui"] = {"pos": [draw(st.integers(-500, 500)), draw(st.integers(-500, 500))]}
    return node


@st.composite
def graph_dicts(draw) -> dict:
    """A valid file: nodes of any type, wires from earlier outputs to later inputs, groups."""
    nodes = [draw(node_dicts(i)) for i in range(draw(st.integers(0, 8)))]
    for i, node in enumerate(nodes[1:], 1):  # tied weights, checked by check(), not loading
        if draw(st.integers(0, 3)) == 0:
            node["shares"] = f"n{draw(st.integers(0, i - 1))}"
    ports = []
    for node in nodes:
        t = catalogue.get(node["type"])
        params = t.resolve(node.get("params", {}))
        ports.append(([p.name for p in t.output_ports(params)],
                      [p.name for p in t.input_ports(params)]))
    edges = []
    for _ in range(draw(st.integers(0, 10))) if len(nodes) > 1 else []:
        a = draw(st.integers(0, len(nodes) - 2))
        b = draw(st.integers(a + 1, len(nodes) - 1))
        if ports[a][0] and ports[b][1]:
            edges.append({"from": f"n{a}.{draw(st.sampled_from(ports[a][0]))}",
                          "to": f"n{b}.{draw(st.sampled_from(ports[b][1]))}"})
    ids = [n["id"] for n in nodes]
    groups = []
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(sorted(OPTIMIZERS)))
        lr_kind = draw(st.sampled_from(sorted(LR_SCHEDULES)))
        groups.append({
            "id": f"g{i}", "members": draw(st.lists(st.sampled_from(ids), max_size=4))
            if ids else [], "losses": [],
            "optimizer": {"type": kind, **draw(settings_of(list(OPTIMIZERS[kind])))},
            "lr_schedule": {"type": lr_kind, **draw(settings_of(list(LR_SCHEDULES[lr_kind])))},
            "schedule": {"every": draw(st.integers(1, 5)), "offset": draw(st.integers(0, 4)),
                         "epochs": [0, draw(st.none() | st.integers(1, 9))], "repeat": 1},
            "clip_grad_norm": draw(st.none() | st.floats(0.1, 10.0)),
        })
    return {"format": "composer-graph", "version": 1, "name": draw(SAFE_TEXT),
            "description": draw(SAFE_TEXT), "nodes": nodes, "edges": edges, "groups": groups,
            "training": {"epochs": draw(st.integers(1, 20)), "seed": draw(st.integers(0, 99)),
                         "device": "cpu", "steps_per_epoch": None},
            "ui": draw(st.dictionaries(st.text(max_size=5), JSON, max_size=3))}


PROFILE = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROFILE
@given(graph_dicts())
def test_load_save_load_is_identity(data):
    graph = from_dict(data)
    text = dumps(graph)
    again = loads(text)
    assert again == graph
    assert dumps(again) == text


@PROFILE
@given(JSON)
def test_any_json_value_loads_or_is_refused_as_a_format_error(value):
    for attempt in (lambda: from_dict(value), lambda: loads(json.dumps(value))):
        try:
            attempt()
        except GraphFormatError:
            pass


def _places(value, path=()):
    """Every (path) inside a JSON value, the value itself first."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _places(v, (*path, i))


def mutate(data, path, action, new):
    if not path:
        return new
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return data


@PROFILE
@given(graph_dicts(), st.data())
def test_any_mutation_of_a_valid_file_loads_or_is_refused(data, draw):
    places = list(_places(data))
    path = draw.draw(st.sampled_from(places))
    action = draw.draw(st.sampled_from(["replace", "delete"])) if path else "replace"
    mutated = mutate(json.loads(json.dumps(data)), path, action, draw.draw(JSON))
    try:
        from_dict(mutated)
    except GraphFormatError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(graph_dicts())
def test_check_reports_on_any_valid_file_without_raising(data):
    found = check(from_dict(data))
    assert all(isinstance(d, Diagnostic) and d.message for d in found)
    assert check(from_dict(data)) == found  # deterministic
