"""`composer check FILE`: one line per problem, exit 0 clean or warnings, 1 errors, 2 unreadable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graph_builder import classifier

from composer.cli import main
from composer.fileformat import save
from composer.graph import Node

BROKEN = Path(__file__).parent / "data" / "broken.graph.json"
ROOT = Path(__file__).resolve().parent.parent


def run(path, capsys) -> tuple[int, list[str]]:
    """The exit code and the problem lines (without the summary line that ends a check)."""
    code = main(["check", str(path)])
    lines = capsys.readouterr().out.splitlines()
    if code != 2:  # a file that loads ends with its summary
        assert lines[-1].startswith(f"{path}: ")
        lines = lines[:-1]
    return code, lines


def test_clean_file_exits_0_and_prints_no_problem_lines(tmp_path, capsys):
    save(classifier(), tmp_path / "ok.graph.json")
    main(["check", str(tmp_path / "ok.graph.json")])
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'ok.graph.json'}: no problems (7 nodes, 1 group)"]


def test_warnings_only_exit_0(tmp_path, capsys):
    graph = classifier()
    graph.groups[0].members = ["fc"]
    save(graph, tmp_path / "w.graph.json")
    code, lines = run(tmp_path / "w.graph.json", capsys)
    assert code == 0
    assert lines == ["WARNING c1: has parameters but is in no group's members: they stay frozen "
                     "at their initial values; add it to a group to train it"]


def test_errors_exit_1_with_one_line_each(capsys):
    code, lines = run(BROKEN, capsys)
    assert code == 1
    assert all(line.split(" ", 1)[0] in ("ERROR", "WARNING", "HINT") for line in lines)
    assert ("ERROR c1: merge.concat c1: in1 is [B,32,7,7] but in0 is [B,16,14,14]; all dims "
            "but 1 must match") in lines
    assert ("ERROR conv1: layer.conv2d conv1 expects feature maps [B,C,H,W] but in is [B,10]: "
            "add a layer.reshape before it") in lines
    assert "ERROR boxes: group boxes has no losses: add the loss nodes it should minimise" in lines


def test_unknown_parameter_exits_2_naming_the_place(tmp_path, capsys):
    path = tmp_path / "typo.graph.json"
    path.write_text(BROKEN.read_text().replace('"stride": 4', '"strid": 4'))
    code, lines = run(path, capsys)
    assert code == 2
    assert lines == ["ERROR typo.graph.json: nodes[4] (cb).params.strid: unknown parameter of "
                     "layer.conv2d; did you mean stride?"]


@pytest.mark.parametrize("content, where", [
    ("{not json", "line 1 column 2"),
    ('{"format": "composer-graph", "version": 9}', "version"),
])
def test_unreadable_files_exit_2(tmp_path, capsys, content, where):
    path = tmp_path / "x.graph.json"
    path.write_text(content)
    code, lines = run(path, capsys)
    assert code == 2 and lines[0].startswith(f"ERROR x.graph.json: {where}:")


def test_missing_file_exits_2(tmp_path, capsys):
    code, lines = run(tmp_path / "absent.graph.json", capsys)
    assert code == 2 and "cannot read" in lines[0]


def test_a_graph_edited_into_a_bad_state_still_checks(tmp_path, capsys):
    graph = classifier()
    graph.nodes["x"] = Node("x", "layer.relu")
    save(graph, tmp_path / "x.graph.json")
    code, lines = run(tmp_path / "x.graph.json", capsys)
    assert code == 1 and lines[0] == "ERROR x: input in is not wired"


def test_the_module_entry_point(tmp_path):
    done = subprocess.run([sys.executable, "-m", "composer", "check", str(BROKEN)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout.count("\n") == len(done.stdout.splitlines()) > 5
    assert done.stdout.splitlines()[-1] == f"{BROKEN}: 6 errors, 8 warnings, 0 hints"
