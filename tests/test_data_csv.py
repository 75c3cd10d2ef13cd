"""data.csv: a table's columns become x (numbers as they are, categories one-hot) and y (class
ids of the sorted distinct values, or numbers); the class values travel with the checkpoint,
and every problem of the file is one line naming the node, the file, the line and the column."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import composer
from composer import cli, fileformat
from composer.analysis import shapes
from composer.analysis.checks import check
from composer.errors import ParamError, TrainingError
from composer.graph import Edge, Graph, Group, Node, Training
from composer.params import Names
from composer.runtime.errors import DataSourceError
from composer.runtime.table import read_table

ROOT = Path(__file__).resolve().parent.parent

FRUIT = """\
weight,colour,sweet,kind
1.5,red,1,apple
2,green,0,pear
3.25,red,1,apple
4,yellow,1,banana
5,green,0,pear
6,yellow,1,banana
7,red,0,apple
8,green,1,pear
9,yellow,0,banana
10,red,1,apple
"""


def table(folder: Path, text: str = FRUIT, name: str = "fruit.csv") -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return name


def classifier(folder: Path, params: dict, classes: int = 3) -> Graph:
    """data.csv t -> linear(classes) -> cross-entropy ce, in one group."""
    g = Graph("table")
    g.nodes = {"t": Node("t", "data.csv", {"batch_size": 4, "split": [0.6, 0.2, 0.2]} | params),
               "fc": Node("fc", "layer.linear", {"out_features": classes}),
               "ce": Node("ce", "loss.cross_entropy", {})}
    g.edges = [Edge("t", "x", "fc", "in"), Edge("fc", "out", "ce", "pred"),
               Edge("t", "y", "ce", "target")]
    g.groups = [Group("g", ["fc"], ["ce"])]
    g.training = Training(epochs=1, seed=0, device="cpu")
    g.base_dir = folder
    return g


# --- what the table becomes -------------------------------------------------------------------

def test_classification_gives_ids_of_sorted_values_and_one_hot_categories(tmp_path):
    t = read_table("t", tmp_path / table(tmp_path), "kind", None, "classification", ["colour"])
    assert t.classes == ["apple", "banana", "pear"]
    assert t.columns == ["weight", "colour=green", "colour=red", "colour=yellow", "sweet"]
    np.testing.assert_array_equal(t.arrays["y"], [0, 2, 0, 1, 2, 1, 0, 2, 1, 0])
    assert t.arrays["y"].dtype == np.int64
    x = t.arrays["x"]
    assert x.dtype == np.float32 and x.shape == (10, 5)
    np.testing.assert_array_equal(x[:4], [[1.5, 0, 1, 0, 1], [2, 1, 0, 0, 0],
                                          [3.25, 0, 1, 0, 1], [4, 0, 0, 1, 1]])


def test_regression_gives_the_target_as_one_float_column_and_features_in_their_order(tmp_path):
    t = read_table(None, tmp_path / table(tmp_path), "weight", ["sweet", "colour"],
                   "regression", ["colour"])
    assert t.classes is None
    y = t.arrays["y"]
    assert y.dtype == np.float32 and y.shape == (10, 1)
    np.testing.assert_array_equal(y[:3, 0], [1.5, 2, 3.25])
    assert t.columns == ["sweet", "colour=green", "colour=red", "colour=yellow"]
    np.testing.assert_array_equal(t.arrays["x"][1], [0, 1, 0, 0])


def test_categories_are_fixed_by_the_whole_file_whatever_the_split(tmp_path):
    """One yellow fruit only: it may land in any split, its column is there in all."""
    text = "colour,kind\n" + "".join(f"{'yellow' if i == 7 else 'red'},{i % 2}\n"
                                      for i in range(10))
    g = classifier(tmp_path, {"path": table(tmp_path, text), "target": "kind",
                              "categorical": ["colour"]}, classes=2)
    source = _data(g)["t"]
    assert source.train["t.x"].shape[1] == source.val["t.x"].shape[1] == 2


def _data(g: Graph) -> dict:
    from composer.generate.compile import graph_program

    return graph_program(g).make_data(0, g.base_dir)


def test_shape_inference_counts_one_hot_columns_and_classes(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind",
                              "categorical": ["colour"]})
    found = shapes.infer(g)
    assert found.problems == []
    assert str(found.output("t", "x")) == "[B,5]"
    y = found.output("t", "y")
    assert y.dtype == "int64" and y.classes == 3
    g.nodes["t"].params |= {"target": "weight", "task": "regression",
                            "categorical": ["colour", "kind"]}
    assert str(shapes.infer(g).output("t", "y")) == "[B,1]"


def test_training_batches_hold_the_table_rows_with_their_labels(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind",
                              "categorical": ["colour"], "split": [1.0, 0.0, 0.0]})
    expected = read_table("t", tmp_path / "fruit.csv", "kind", None, "classification",
                          ["colour"]).arrays
    rows = {tuple(x): y for x, y in zip(expected["x"].tolist(), expected["y"].tolist(),
                                        strict=True)}
    source = _data(g)["t"]
    drawn = [source.draw(k) for k in range(source.batches_per_pass)]
    pairs = [(tuple(x), y) for b in drawn
             for x, y in zip(b["t.x"].tolist(), b["t.y"].tolist(), strict=True)]
    assert len(pairs) == 8 and len({x for x, _ in pairs}) == 8  # a pass: 2 batches of 4
    assert all(rows[x] == y for x, y in pairs)


def test_the_checkpoint_keeps_the_value_of_each_class_id(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind",
                              "categorical": ["colour"]})
    run = composer.train(g, steps=2, out_dir=tmp_path / "run")
    state = torch.load(run.checkpoint, weights_only=True)
    assert state["classes"] == {"t": ["apple", "banana", "pear"]}
    table(tmp_path, FRUIT.replace("banana", "cherry"))  # ids 1 and 2 now mean other fruit
    with pytest.raises(TrainingError, match="trained with classes .*'banana'.* but its data now "
                                            "has .*'cherry'"):
        composer.train(g, steps=3, resume=run.checkpoint)


def test_a_regression_checkpoint_has_no_classes(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "weight",
                              "task": "regression", "categorical": ["colour", "kind"]}, 1)
    g.nodes["ce"] = Node("ce", "loss.mse", {})
    run = composer.train(g, steps=1, out_dir=tmp_path / "run")
    assert torch.load(run.checkpoint, weights_only=True)["classes"] == {}


# --- bad input: one line naming node, file, line and column -----------------------------------

BAD = {
    "text in a numeric column": (
        FRUIT, {"target": "kind"},
        "t: '{file}', line 2, column 'colour': 'red' is not a number; list colour in "
        "categorical to one-hot encode the column", "categorical"),
    "a missing column": (
        FRUIT, {"target": "knd"},
        "t: '{file}' has no column 'knd'; did you mean kind? (its columns: weight, colour, "
        "sweet, kind)", "target"),
    "an empty value": (
        FRUIT.replace("4,yellow", "4,"), {"target": "kind", "categorical": ["colour"]},
        "t: '{file}', line 5, column 'colour' is empty: fill it in or drop the row", None),
    "a target with one class": (
        "a,kind\n1,x\n2,x\n3,x\n", {"target": "kind"},
        "t: '{file}': the target column 'kind' holds one class ('x'); classification needs "
        "two or more", "target"),
    "a text target for regression": (
        FRUIT, {"target": "kind", "task": "regression", "categorical": ["colour"]},
        "t: '{file}', line 2, column 'kind': 'apple' is not a number; task \"regression\" "
        "needs numbers; \"classification\" takes any values", "task"),
    "a short row": (
        FRUIT.replace("2,green,0,pear", "2,green,0"), {"target": "kind"},
        "t: '{file}', line 3: 3 values, but the header names 4 columns", None),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_where(case, tmp_path):
    text, params, message, _ = BAD[case]
    file = tmp_path / table(tmp_path, text)
    with pytest.raises(DataSourceError) as caught:
        p = {"features": None, "task": "classification", "categorical": []} | params
        read_table("t", file, p["target"], p["features"], p["task"], p["categorical"])
    assert str(caught.value) == message.format(file=file)


@pytest.mark.parametrize("case", BAD)
def test_check_reports_bad_input_on_the_node_and_its_parameter(case, tmp_path):
    text, params, message, param = BAD[case]
    g = classifier(tmp_path, {"path": table(tmp_path, text)} | params)
    (d,) = [d for d in check(g) if d.severity == "error"]
    assert (d.node, d.param) == ("t", param or "path")
    assert d.message == "data.csv " + message.format(file=tmp_path / "fruit.csv")


def test_composer_check_prints_the_table_problem_and_exits_1(tmp_path, capsys):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind"})
    fileformat.save(g, tmp_path / "g.graph.json")
    assert cli.main(["check", str(tmp_path / "g.graph.json")]) == 1
    out = capsys.readouterr().out
    assert "ERROR t: data.csv t: " in out and "line 2, column 'colour': 'red' is not a " in out


def test_composer_train_stops_on_a_text_value_in_one_line_without_traceback(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind"})
    fileformat.save(g, tmp_path / "g.graph.json")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "composer", "train",
                           str(tmp_path / "g.graph.json"), "--steps", "1"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: t: ")
    assert "fruit.csv', line 2, column 'colour': 'red' is not a number" in lines[0]


# --- the list-of-names parameter --------------------------------------------------------------

def test_a_names_parameter_takes_distinct_names_or_null_when_optional():
    features = Names("features", None, optional=True)
    assert features.validate(["a", "b c"]) == ["a", "b c"]
    assert features.validate(None) is None
    for bad, said in ((["a", "a"], '"a" is listed twice'), (["a", ""], "not empty"),
                      ("a", "a list of names"), ([1], "a list of names")):
        with pytest.raises(ParamError, match=said):
            features.validate(bad)
    with pytest.raises(ParamError):
        Names("categorical", []).validate(None)


def test_a_file_with_a_misspelt_list_is_refused_where_it_is(tmp_path):
    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind",
                              "categorical": ["colour"]})
    fileformat.save(g, tmp_path / "g.graph.json")
    text = (tmp_path / "g.graph.json").read_text().replace('"colour"\n', '"colour", 3\n')
    (tmp_path / "g.graph.json").write_text(text)
    with pytest.raises(composer.GraphFormatError, match=r"categorical: expected a list of names"):
        composer.load(tmp_path / "g.graph.json")


# --- in the inspector -------------------------------------------------------------------------

def test_typing_columns_in_the_inspector_sets_the_list_and_clearing_sets_null(qtbot, tmp_path):
    from gui_helpers import open_window
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    g = classifier(tmp_path, {"path": table(tmp_path), "target": "kind",
                              "categorical": ["colour"]})
    w = open_window(qtbot, tmp_path, g)
    w.scene.select_nodes(["t"])
    field = w.inspector.editors["features"].field
    assert field.text() == "" and "commas" in field.placeholderText()
    field.setFocus()
    QTest.keyClicks(field, "weight, colour")
    assert w.document.graph.nodes["t"].params["features"] == ["weight", "colour"]
    w.document.analyse_now()
    assert str(w.document.shapes.output("t", "x")) == "[B,4]"  # weight + 3 colours
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Backspace)
    assert w.document.graph.params_of("t")["features"] is None  # the default: every column
    categorical = w.inspector.editors["categorical"]
    assert categorical.field.text() == "colour"
    categorical.field.selectAll()
    QTest.keyClicks(categorical.field, "colour, colour")
    assert "listed twice" in categorical.error.text()
    committed = w.document.graph.nodes["t"].params["categorical"]  # the last valid text
    assert committed == ["colour", "colou"]


# --- the sample -------------------------------------------------------------------------------

def test_the_wine_table_is_what_its_script_writes():
    from samples.make_wine_table import OUT, rows

    header, body = rows()
    with open(OUT, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [header, *body]


def test_the_wine_sample_learns_the_cultivars():
    graph = composer.load(ROOT / "samples" / "table_wine.graph.json")
    assert str(shapes.infer(graph).output("wine", "x")) == "[B,13]"
    assert composer.train(graph).accuracy["clf_loss"] >= 0.9
