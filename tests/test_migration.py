"""Format versions: old files come up to date through the registered steps, one version at a
time; a step that fails or does not move the version on is a clear refusal, never a crash or a
loop. (Migrating version 0 through one step, and refusing newer and unknown versions, are in
test_fileformat.py.)"""

from __future__ import annotations

import copy
import json

import pytest

from composer import cli, fileformat
from composer.errors import GraphFormatError
from tests.graph_builder import classifier


def version_0() -> dict:
    """The classifier as a version-0 file would have it: node types under "kind"."""
    data = classifier().to_dict()
    data["version"] = 0
    data["nodes"] = [{("kind" if k == "type" else k): v for k, v in n.items()}
                     for n in data["nodes"]]
    return data


def v0_to_v1(data: dict) -> dict:
    data["nodes"] = [{("type" if k == "kind" else k): v for k, v in n.items()}
                     for n in data["nodes"]]
    return dict(data, version=1)


def test_a_file_two_versions_old_goes_through_each_step_in_order(monkeypatch):
    steps = []

    def v1_to_v2(data: dict) -> dict:  # a future version 2 renames "ui" to "view"
        steps.append(1)
        return dict({k: v for k, v in data.items() if k != "ui"}, version=2)

    def first(data: dict) -> dict:
        steps.append(0)
        return v0_to_v1(data)

    monkeypatch.setattr(fileformat, "VERSION", 2)
    monkeypatch.setitem(fileformat.MIGRATIONS, 0, first)
    monkeypatch.setitem(fileformat.MIGRATIONS, 1, v1_to_v2)
    migrated = fileformat.migrate(version_0())
    assert steps == [0, 1] and migrated["version"] == 2 and "ui" not in migrated
    assert [n["type"] for n in migrated["nodes"]] == [n.type for n in classifier().nodes.values()]


def test_migrating_leaves_the_callers_data_as_it_was(monkeypatch):
    monkeypatch.setitem(fileformat.MIGRATIONS, 0, v0_to_v1)
    old = version_0()
    before = copy.deepcopy(old)
    assert fileformat.from_dict(old) == classifier()
    assert old == before


def test_a_step_that_fails_on_a_malformed_old_file_is_a_format_error(monkeypatch, tmp_path,
                                                                     capsys):
    monkeypatch.setitem(fileformat.MIGRATIONS, 0, v0_to_v1)
    broken = version_0()
    del broken["nodes"]
    with pytest.raises(GraphFormatError) as e:
        fileformat.from_dict(broken)
    assert e.value.where == "version"
    assert "cannot bring this version 0 file up to date: KeyError: 'nodes'" in str(e.value)
    (tmp_path / "old.graph.json").write_text(json.dumps(broken))
    assert cli.main(["check", str(tmp_path / "old.graph.json")]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == ["ERROR old.graph.json: version: cannot bring this version 0 file up to date: "
                   "KeyError: 'nodes'"]


@pytest.mark.parametrize("result", [{"version": 0}, {"version": 5}, {"version": "1"}, None])
def test_a_step_that_does_not_move_the_version_on_is_refused_not_looped(monkeypatch, result):
    monkeypatch.setitem(fileformat.MIGRATIONS, 0, lambda data: result)
    with pytest.raises(GraphFormatError, match="the migration from version 0 gave version"):
        fileformat.from_dict(version_0())
