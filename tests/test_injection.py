"""A graph file is data: strings written to look like Python code (in names, labels,
descriptions, data paths and array keys) are checked, trained on and exported, and nothing of
them ever runs. In the generated source they appear only inside string literals; ids, which do
become code, are refused unless they are plain identifiers."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

import composer
from composer import cli, fileformat
from composer.analysis.checks import check
from composer.errors import CompileError, GraphFormatError
from composer.generate.compile import load_program
from composer.graph import Edge, Graph, Group, Node, Training

ROOT = Path(__file__).resolve().parent.parent
MARKER = "INJECTED_MARKER"
# Each one would create MARKER in the working folder if it ever ran as code.
CLOSE_AND_RUN = f"\"); import os; open('{MARKER}','w')#"
CALL = f"__import__('os').system('touch {MARKER}')"
SINGLE_TRIPLE = f"'''; open('{MARKER}','w'); '''"
DOUBLE_TRIPLE = f'"""; open("{MARKER}","w"); """'
BACKSLASHES = f"\\\"); open('{MARKER}','w')#\\"
BRACES = f"{{open('{MARKER}','w')}} %(prog)s %d %"
NEWLINES = f"ok\n__import__('os').system('touch {MARKER}')\n#\r\n\"\"\"\n"
TEXT_PAYLOADS = [CLOSE_AND_RUN, CALL, SINGLE_TRIPLE, DOUBLE_TRIPLE, BACKSLASHES, BRACES]


def hostile_graph(folder: Path) -> Graph:
    """Two data sources whose path and keys are payloads (the files exist under those names),
    each feeding a classifier; every label, the name and the description are payloads too."""
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    np.savez(folder / f"{CLOSE_AND_RUN}.npz",
             **{CALL: x, BACKSLASHES: (x[:, 0] > 0).astype(np.int64)})
    images = folder / DOUBLE_TRIPLE
    from PIL import Image

    for label in ("a", "b"):
        (images / label).mkdir(parents=True)
        for i in range(6):
            shade = 40 * i if label == "a" else 255 - 40 * i
            Image.new("L", (8, 8), shade).save(images / label / f"{BRACES[:6]}{i}.png")
    g = Graph(CLOSE_AND_RUN + NEWLINES + BRACES, SINGLE_TRIPLE + NEWLINES + DOUBLE_TRIPLE)
    nodes = [
        ("t", "data.tensors", {"path": f"{CLOSE_AND_RUN}.npz", "x_key": CALL,
                               "y_key": BACKSLASHES, "batch_size": 8}),
        ("fc", "layer.linear", {"out_features": 2}), ("ce", "loss.cross_entropy", {}),
        ("im", "data.image_folder", {"path": DOUBLE_TRIPLE, "size": 8, "grayscale": True,
                                     "batch_size": 4, "split": [0.6, 0.2, 0.2]}),
        ("flat", "layer.flatten", {}), ("fc2", "layer.linear", {"out_features": 2}),
        ("ce2", "loss.cross_entropy", {}),
    ]
    labels = TEXT_PAYLOADS + [NEWLINES]
    for i, (node_id, type_id, params) in enumerate(nodes):
        g.nodes[node_id] = Node(node_id, type_id, params, label=labels[i % len(labels)],
                                ui={"note": NEWLINES})
    g.edges = [Edge("t", "x", "fc", "in"), Edge("fc", "out", "ce", "pred"),
               Edge("t", "y", "ce", "target"), Edge("im", "x", "flat", "in"),
               Edge("flat", "out", "fc2", "in"), Edge("fc2", "out", "ce2", "pred"),
               Edge("im", "y", "ce2", "target")]
    g.groups = [Group("g", ["fc", "fc2"], ["ce", "ce2"], ui={"color": CALL})]
    g.training = Training(epochs=1, seed=0, device="cpu")
    g.ui = {"note": CLOSE_AND_RUN}
    g.base_dir = folder
    return g


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The graph's folder is also the working folder, where a payload would leave MARKER."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / MARKER).exists(), "a string from the file ran as code"
    assert not (ROOT / MARKER).exists(), "a string from the file ran as code"


def code_tokens_containing(source: str, text: str) -> list[tokenize.TokenInfo]:
    """Tokens of the source that contain `text` and are not string literals (comments are
    tokens too: a label inside a comment would count)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t for t in tokens if text in t.string and t.type != tokenize.STRING]


def test_hostile_strings_round_trip_through_the_file_unchanged(workdir):
    g = hostile_graph(workdir)
    fileformat.save(g, workdir / "hostile.graph.json")
    loaded = fileformat.load(workdir / "hostile.graph.json")
    assert loaded == g
    assert loaded.name == g.name and loaded.nodes["t"].params["x_key"] == CALL


def test_generated_source_holds_hostile_strings_only_inside_string_literals(workdir):
    g = hostile_graph(workdir)
    assert [d for d in check(g) if d.is_error] == []
    source = composer.export_python(g)
    tree = ast.parse(source)
    assert code_tokens_containing(source, MARKER) == []
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                and isinstance(n.value, str) and MARKER in n.value}
    # Exactly the values the program needs, each as one whole string constant.
    assert literals == {g.name, f"{CLOSE_AND_RUN}.npz", CALL, BACKSLASHES, DOUBLE_TRIPLE}
    assert SINGLE_TRIPLE + NEWLINES not in source  # the description is not in the code at all
    program = load_program(source, "hostile")
    assert program.PROGRAM.name == g.name
    assert MARKER in program.script_parser(program.PROGRAM).format_help()  # % is no format


def test_a_hostile_graph_checks_trains_and_its_exported_file_runs(workdir):
    g = hostile_graph(workdir)
    run = composer.train(g, steps=3)
    assert run.steps == 3 and set(run.history[0]["loss"]) == {"ce", "ce2"}
    out = workdir / "exported.py"
    out.write_text(composer.export_python(g))
    result = subprocess.run([sys.executable, str(out), "--steps", "2", "--out", "run",
                             "--metrics-out", "m.jsonl"], cwd=workdir, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (workdir / "m.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "loss" in r] == [0, 1]
    help_text = subprocess.run([sys.executable, str(out), "--help"], cwd=workdir,
                               capture_output=True, text=True, timeout=300)
    assert help_text.returncode == 0, help_text.stderr


def test_the_command_line_checks_and_trains_a_hostile_file(workdir, capsys):
    fileformat.save(hostile_graph(workdir), workdir / "hostile.graph.json")
    assert cli.main(["check", "hostile.graph.json"]) == 0
    assert cli.main(["train", "hostile.graph.json", "--steps", "2", "--out", "run"]) == 0
    assert cli.main(["export", "hostile.graph.json", "-o", "out.py"]) == 0
    ast.parse((workdir / "out.py").read_text())


NOT_IDS = [CLOSE_AND_RUN, CALL, NEWLINES, "x.__class__"]
PYTHONS_OWN = ["__class__", "__x"]  # identifiers, but a node id becomes `self.<id>`


@pytest.mark.parametrize(("where", "payload"), [
    *[(w, p) for w in ("nodes[0].id", "nodes[1].shares", "groups[0].id", "edges[0].from")
      for p in NOT_IDS],
    *[(w, p) for w in ("nodes[0].id", "nodes[1].shares", "edges[0].from") for p in PYTHONS_OWN],
])
def test_ids_that_are_not_plain_identifiers_are_refused_when_loading(workdir, where, payload):
    data = {"format": "composer-graph", "version": 1,
            "nodes": [{"id": "d", "type": "data.digits"},
                      {"id": "fc", "type": "layer.linear"}],
            "edges": [{"from": "d.x", "to": "fc.in"}],
            "groups": [{"id": "g", "members": ["fc"]}]}
    if where == "nodes[0].id":
        data["nodes"][0]["id"] = payload
    elif where == "nodes[1].shares":
        data["nodes"][1]["shares"] = payload
    elif where == "groups[0].id":
        data["groups"][0]["id"] = payload
    else:
        data["edges"][0]["from"] = f"{payload}.x"
    with pytest.raises(GraphFormatError) as e:
        fileformat.from_dict(data)
    assert e.value.where.startswith(where.rsplit(".", 1)[0])


@pytest.mark.parametrize("param", ["path", "x_key", "y_key"])
def test_text_parameters_with_line_breaks_are_refused_naming_the_place(workdir, param):
    data = {"format": "composer-graph", "version": 1,
            "nodes": [{"id": "t", "type": "data.tensors", "params": {param: NEWLINES}}]}
    with pytest.raises(GraphFormatError, match="control characters") as e:
        fileformat.from_dict(data)
    assert e.value.where == f"nodes[0] (t).params.{param}"


def test_a_graph_built_in_python_with_hostile_ids_and_values_never_runs_them(workdir):
    g = Graph("api")
    g.nodes["d"] = Node("d", "data.digits", {})
    g.nodes[CALL] = Node(CALL, "layer.flatten", {})
    g.nodes["__x"] = Node("__x", "layer.flatten", {})  # would be renamed _Model__x in the class
    g.nodes["b"] = Node("b", "block.conv_bn_relu", {"out_channels": f"{CALL} or 8"})
    g.nodes["s"] = Node("s", "layer.softmax", {"dim": f"{CALL} or 1"})
    g.edges = [Edge("d", "x", CALL, "in"), Edge("d", "x", "__x", "in"), Edge("d", "x", "b", "in"),
               Edge("b", "out", "s", "in")]
    errors = {d.node for d in check(g) if d.is_error}
    assert {CALL, "__x", "b", "s"} <= errors
    with pytest.raises(CompileError):
        composer.export_python(g)


def test_display_settings_nested_too_deep_to_save_are_refused_when_loading():
    data = json.loads(fileformat.dumps(Graph("deep")))
    deep: object = "x"
    for _ in range(900):  # parses, but saving or copying it would exhaust the stack
        deep = [deep]
    data["ui"] = {"view": deep}
    with pytest.raises(GraphFormatError, match=r"^ui: nested more than 32 levels deep"):
        fileformat.from_dict(data)
    data["ui"] = {"view": [[{"zoom": 1.5}]]}
    assert fileformat.from_dict(data).ui == {"view": [[{"zoom": 1.5}]]}
