"""Malformed graph files are refused with the place and the reason; saving is atomic and stable."""

from __future__ import annotations

import copy
import json
import os

import pytest
from graph_builder import classifier, gan

from composer import fileformat
from composer.errors import GraphFormatError
from composer.fileformat import dumps, from_dict, load, loads, save
from composer.graph import Graph


def valid() -> dict:
    """A small valid file as a dict: two nodes, a wire, a group."""
    return {
        "format": "composer-graph", "version": 1, "name": "t", "description": "",
        "nodes": [{"id": "d", "type": "data.digits"},
                  {"id": "c", "type": "layer.conv2d", "params": {"kernel_size": 3}},
                  {"id": "f", "type": "layer.flatten"},
                  {"id": "fc", "type": "layer.linear"},
                  {"id": "ce", "type": "loss.cross_entropy"}],
        "edges": [{"from": "d.x", "to": "c.in"}, {"from": "c.out", "to": "f.in"},
                  {"from": "f.out", "to": "fc.in"}, {"from": "fc.out", "to": "ce.pred"},
                  {"from": "d.y", "to": "ce.target"}],
        "groups": [{"id": "g", "members": ["c", "fc"], "losses": ["ce"]}],
        "training": {"epochs": 2, "seed": 0, "device": "cpu", "steps_per_epoch": None},
        "ui": {},
    }


def refused(data) -> GraphFormatError:
    with pytest.raises(GraphFormatError) as info:
        from_dict(data)
    return info.value


def edited(path: str, value):
    """valid() with the value at `path` (dotted, [i] for list items) replaced or deleted."""
    data = valid()
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    target = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    key = int(last) if last.isdigit() else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return data


class _Delete:
    """The value of a case that removes the key; its name keeps test ids the same in every
    process that collects them."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETE = _Delete()

CASES = [
    # (path, value, where, message fragment)
    ("format", "other", "format", 'expected "composer-graph", got "other"'),
    ("version", "1", "version", 'expected an integer, got "1"'),
    ("version", 7, "version", "this file is version 7; this program reads versions up to 2"),
    ("nodez", [], "nodez", "unknown key of the file; did you mean nodes?"),
    ("name", 3, "name", "expected a string, got 3"),
    ("nodes", {}, "nodes", "expected a list, got {}"),
    ("nodes[1]", "c", "nodes[1]", 'expected a node object, got "c"'),
    ("nodes[1].id", DELETE, "nodes[1]", 'a node needs "id"'),
    ("nodes[1].type", DELETE, "nodes[1]", 'a node needs "type"'),
    ("nodes[1].param", {}, "nodes[1] (c).param", "unknown key of a node; did you mean params?"),
    ("nodes[1].id", "1c", "nodes[1].id", '"1c" is not a valid node id'),
    ("nodes[1].id", "a-b", "nodes[1].id", '"a-b" is not a valid node id'),
    ("nodes[1].id", 5, "nodes[1].id", "expected node id (a string), got 5"),
    ("nodes[1].id", "class", "nodes[1].id", '"class" is a Python keyword'),
    ("nodes[1].id", "forward", "nodes[1].id", '"forward" is a name torch.nn.Module uses'),
    ("nodes[1].id", "d", "nodes[1].id", 'duplicate node id "d"'),
    ("nodes[1].type", "layer.conv", "nodes[1] (c).type",
     'unknown node type "layer.conv"; did you mean layer.conv2d?'),
    ("nodes[1].type", "loss.huber", "nodes[1] (c).type",
     'unknown node type "loss.huber"; did you mean loss.smooth_l1?'),
    ("nodes[1].type", "layer.dense", "nodes[1] (c).type",
     'unknown node type "layer.dense"; did you mean layer.linear?'),
    ("nodes[1].type", 2, "nodes[1] (c).type", "expected a node type name, got 2"),
    ("nodes[1].params", [], "nodes[1] (c).params", "expected an object, got []"),
    ("nodes[1].params", {"kernal_size": 3}, "nodes[1] (c).params.kernal_size",
     "unknown parameter of layer.conv2d; did you mean kernel_size?"),
    ("nodes[1].params", {"in_channels": 3}, "nodes[1] (c).params.in_channels",
     "in_channels is inferred from the input's shape; remove it"),
    ("nodes[1].params", {"kernel_size": "3x3"}, "nodes[1] (c).params.kernel_size",
     'expected an integer from 1 to 31, got "3x3"'),
    ("nodes[1].params", {"kernel_size": 0}, "nodes[1] (c).params.kernel_size",
     "expected an integer from 1 to 31, got 0"),
    ("nodes[1].params", {"bias": 1}, "nodes[1] (c).params.bias", "expected true or false, got 1"),
    ("nodes[1].label", 4, "nodes[1] (c).label", "expected a string, got 4"),
    ("nodes[1].shares", "ghost", "nodes[1] (c).shares", 'no node "ghost"'),
    ("nodes[1].ui", [], "nodes[1] (c).ui", "expected an object, got []"),
    ("edges[0]", [], "edges[0]", "expected an edge object, got []"),
    ("edges[0].to", DELETE, "edges[0]", 'an edge needs "to"'),
    ("edges[0].via", "x", "edges[0].via", "unknown key of an edge"),
    ("edges[0].from", "dx", "edges[0].from", 'expected "node.port", got "dx"'),
    ("edges[0].from", "dd.x", "edges[0].from", 'no node "dd"; did you mean d?'),
    ("edges[0].to", "c.input", "edges[0].to",
     'layer.conv2d c has no input port "input" (its inputs: in)'),
    ("edges[0].from", "c.in", "edges[0].from",
     'layer.conv2d c has no output port "in" (its outputs: out)'),
    ("groups[0].id", DELETE, "groups[0]", 'a group needs "id"'),
    ("groups[0].members", "c", "groups[0].members", 'expected a list of node ids, got "c"'),
    ("groups[0].members", ["cc"], "groups[0].members[0]", 'no node "cc"; did you mean c?'),
    ("groups[0].optimizer", {"type": "adamm"}, "groups[0].optimizer.type",
     'expected one of sgd, adam, adamw, rmsprop, got "adamm"; did you mean adam?'),
    ("groups[0].optimizer", {"type": []}, "groups[0].optimizer.type",
     "expected one of sgd, adam, adamw, rmsprop, got []"),
    ("groups[0].optimizer", {"type": "sgd", "betas": [0.5, 0.9]}, "groups[0].optimizer.betas",
     "unknown setting of optimizer sgd"),
    ("groups[0].optimizer", {"type": "adam", "lr": 0}, "groups[0].optimizer.lr",
     "expected a number > 0 and <= 10, got 0"),
    ("groups[0].schedule", {"epochs": [3, 1]}, "groups[0].schedule.epochs",
     "expected [first, end] with 0 <= first < end"),
    ("groups[0].lr_schedule", {"type": "step", "gama": 0.5}, "groups[0].lr_schedule.gama",
     "unknown setting of LR schedule step; did you mean gamma?"),
    ("groups[0].clip_grad_norm", -1, "groups[0].clip_grad_norm", "expected a number > 0"),
    ("groups[0].colour", "red", "groups[0].colour", "unknown key of a group"),
    ("training.epochs", 0, "training.epochs", "expected an integer from 1 to 1000000, got 0"),
    ("training.device", "gpu", "training.device",
     'expected one of auto, cpu, cuda, mps or cuda:N, got "gpu"'),
    ("training.seeds", 1, "training.seeds", "unknown key of training; did you mean seed?"),
    ("ui", 3, "ui", "expected an object, got 3"),
]


def test_the_valid_file_loads():
    assert len(from_dict(valid()).nodes) == 5


@pytest.mark.parametrize("path, value, where, message", CASES,
                         ids=[f"{c[0]}={c[1]!r}"[:40] for c in CASES])
def test_malformed_file_is_refused_naming_the_place(path, value, where, message):
    error = refused(edited(path, value))
    assert error.where == where
    assert message in error.detail


def test_duplicate_group_ids_are_refused():
    data = valid()
    data["groups"].append(copy.deepcopy(data["groups"][0]))
    assert str(refused(data)) == 'groups[1].id: duplicate group id "g"'


def test_not_json_names_line_and_column():
    with pytest.raises(GraphFormatError) as info:
        loads('{"format": "composer-graph",\n "version": 1,,}')
    assert info.value.where == "line 2 column 15"


def test_top_level_must_be_an_object():
    assert "expected a JSON object at the top of the file" in str(refused([1, 2]))


def test_load_names_the_file(tmp_path):
    path = tmp_path / "bad.graph.json"
    path.write_text(json.dumps(edited("nodes[1].params", {"kernal_size": 3})))
    with pytest.raises(GraphFormatError) as info:
        load(path)
    assert str(info.value) == ("bad.graph.json: nodes[1] (c).params.kernal_size: unknown parameter "
                               "of layer.conv2d; did you mean kernel_size?")


def test_unreadable_files_are_format_errors(tmp_path):
    with pytest.raises(GraphFormatError, match="cannot read"):
        load(tmp_path / "missing.graph.json")
    (tmp_path / "bin.graph.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GraphFormatError, match="not a UTF-8 text file"):
        load(tmp_path / "bin.graph.json")


def test_version_0_file_is_migrated_through_the_registered_step(monkeypatch):
    def v0_to_v1(data):  # version 0 called node types "kind"
        data = dict(data, version=1)
        data["nodes"] = [{("type" if k == "kind" else k): v for k, v in n.items()}
                         for n in data["nodes"]]
        return data

    monkeypatch.setitem(fileformat.MIGRATIONS, 0, v0_to_v1)
    old = valid()
    old["version"] = 0
    old["nodes"] = [{("kind" if k == "type" else k): v for k, v in n.items()}
                    for n in old["nodes"]]
    assert from_dict(old) == from_dict(valid())


def test_version_0_without_a_migration_is_refused():
    assert "version 0 is not a known graph format version" in str(refused(edited("version", 0)))


# --- saving -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [classifier, gan])
def test_save_load_is_identity_and_bytes_are_stable(tmp_path, make):
    graph = make()
    save(graph, tmp_path / "a.graph.json")
    again = load(tmp_path / "a.graph.json")
    assert again == graph
    save(again, tmp_path / "b.graph.json")
    assert (tmp_path / "a.graph.json").read_bytes() == (tmp_path / "b.graph.json").read_bytes()


def test_equal_graphs_built_in_another_order_save_the_same_bytes():
    a, b = classifier(), classifier()
    b.nodes["c1"].params = dict(reversed(list(b.nodes["c1"].params.items())))
    b.groups[0].optimizer = {"lr": 0.001, "type": "adam"}
    a.ui, b.ui = {"zoom": 1, "centre": [0, 0]}, {"centre": [0, 0], "zoom": 1}
    assert a == b and dumps(a) == dumps(b)


def test_failing_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.graph.json"
    save(classifier(), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    changed = gan()
    with pytest.raises(OSError):
        save(changed, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.graph.json"]


def test_failing_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.graph.json"
    save(classifier(), path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("busy")))
    with pytest.raises(OSError):
        save(gan(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.graph.json"]


def test_an_empty_graph_round_trips():
    assert loads(dumps(Graph())) == Graph()
