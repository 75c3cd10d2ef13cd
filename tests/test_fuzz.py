"""2,000 seeded mutations of real graph files: each loads or is refused with GraphFormatError,
and every graph that loads is checked without an exception."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from pathlib import Path

from graph_builder import classifier, gan

from composer import catalogue
from composer.analysis.checks import check
from composer.analysis.diagnostics import Diagnostic
from composer.errors import GraphFormatError
from composer.fileformat import from_dict, load
from composer.params import Int

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS = 2000
ODD_VALUES = [None, 0, -1, 1, 2.5, 1e300, "", "x", "d.x", "a.b.c", [], [1], {}, {"op": "hflip"},
              True, False, 10**12, "layer.relu", "in0", [0.5, 0.5, 0.0], "nodes"]


def seeds() -> list[dict]:
    """The samples on disk now, the broken test file, and graphs built here."""
    files = sorted((ROOT / "samples").glob("*.graph.json"))
    files.append(ROOT / "tests" / "data" / "broken.graph.json")
    found = []
    for path in files:
        try:
            load(path)  # only files that load today are worth mutating
        except GraphFormatError:
            continue
        found.append(json.loads(path.read_text()))
    return found + [classifier().to_dict(), gan().to_dict(), gan(detach=False).to_dict()]


def places(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from places(v, (*path, i))


def _parent(data, path):
    for key in path[:-1]:
        data = data[key]
    return data


def _port_refs(data) -> list[str]:
    return [e[end] for e in data.get("edges", []) if isinstance(e, dict)
            for end in ("from", "to") if isinstance(e.get(end), str)]


def mutate(data: dict, rng: random.Random) -> dict:
    """One random edit of the kinds a hand, a merge conflict or a program makes."""
    data = copy.deepcopy(data)
    inner = [p for p in places(data) if p]
    path = rng.choice(inner)
    parent, key = _parent(data, path), path[-1]
    kind = rng.randrange(8)
    if kind == 0:
        parent[key] = rng.choice(ODD_VALUES + [rng.choice(inner)[-1]])
    elif kind == 1:
        del parent[key]
    elif kind == 2 and isinstance(parent, dict):  # a typo in a key
        name = str(key)
        i = rng.randrange(len(name) + 1)
        parent[name[:i] + rng.choice("ase_") + name[i + 1:]] = parent.pop(key)
    elif kind == 3 and isinstance(parent, list):  # duplicated item: ids, wires
        parent.insert(key, copy.deepcopy(parent[key]))
    elif kind == 4 and _port_refs(data):  # rewire: cycles, wrong kinds, wired twice
        edge = rng.choice(data["edges"])
        if isinstance(edge, dict):
            edge[rng.choice(["from", "to"])] = rng.choice(_port_refs(data))
    elif kind == 5 and data.get("nodes"):  # another type, parameters dropped
        node = rng.choice(data["nodes"])
        if isinstance(node, dict):
            node["type"] = rng.choice(catalogue.type_ids())
            node.pop("params", None)
    elif kind == 6 and data.get("nodes"):  # another valid value: shapes change downstream
        node = rng.choice(data["nodes"])
        t = catalogue.get(node.get("type")) if isinstance(node, dict) else None
        numeric = [p for p in t.params if isinstance(p, Int) and p.max] if t else []
        if numeric:
            decl = rng.choice(numeric)
            high = max(decl.min, min(decl.max, 9))
            node.setdefault("params", {})[decl.name] = rng.randint(decl.min, high)
    elif kind == 7 and data.get("groups"):  # memberships moved around
        group = rng.choice(data["groups"])
        ids = [n.get("id") for n in data.get("nodes", []) if isinstance(n, dict)]
        if isinstance(group, dict) and ids:
            group[rng.choice(["members", "losses"])] = rng.sample(ids, min(len(ids), 3))
    return data


def test_mutated_files_load_or_are_refused_and_check_never_raises():
    rng = random.Random(20240601)
    originals = seeds()
    loaded = refused = problems = 0
    for _ in range(MUTATIONS):
        data = mutate(rng.choice(originals), rng)
        try:
            graph = from_dict(data)
        except GraphFormatError:
            refused += 1
            continue
        loaded += 1
        found = check(graph)
        assert all(isinstance(d, Diagnostic) and d.message for d in found)
        problems += len(found)
    print(f"\n{MUTATIONS} mutations of {len(originals)} graphs: {loaded} loaded "
          f"({problems} diagnostics), {refused} refused with GraphFormatError")
    assert loaded > MUTATIONS // 10 and refused > MUTATIONS // 10


def _odd_edit(graph, rng: random.Random) -> None:
    """Sets one field of a node, wire, group or the training settings to an odd value, as a
    program or a widget might: check() must report, never raise."""
    value = rng.choice(ODD_VALUES + [{"a": 1}, ("t",), {1, 2}, object()])
    target = rng.choice(["node", "node_param", "edge", "group", "training"])
    if target == "node" and graph.nodes:
        node = rng.choice(list(graph.nodes.values()))
        setattr(node, rng.choice(["type", "params", "shares", "label"]), value)
    elif target == "node_param" and graph.nodes:
        node = rng.choice(list(graph.nodes.values()))
        t = node.node_type
        names = [p.name for p in t.params] if t else []
        node.params[rng.choice(names + ["bogus"])] = value
    elif target == "edge" and graph.edges:
        i = rng.randrange(len(graph.edges))
        field = rng.choice(["src", "src_port", "dst", "dst_port"])
        graph.edges[i] = dataclasses.replace(graph.edges[i], **{field: value})
    elif target == "group" and graph.groups:
        group = rng.choice(graph.groups)
        setattr(group, rng.choice(["members", "losses", "optimizer", "schedule", "lr_schedule",
                                   "clip_grad_norm"]), value)
    else:
        setattr(graph.training, rng.choice(["epochs", "seed", "steps_per_epoch"]), value)


def test_graphs_edited_into_any_state_are_checked_without_raising():
    rng = random.Random(7)
    originals = [from_dict(data) for data in seeds()]
    for _ in range(400):
        graph = rng.choice(originals).copy()
        for _ in range(rng.randint(1, 3)):
            _odd_edit(graph, rng)
        found = check(graph)
        assert all(isinstance(d, Diagnostic) for d in found)
