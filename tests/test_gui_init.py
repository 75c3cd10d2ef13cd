"""The inspector shows a node's `init` as a line a user can read and type, with the error
under the field for text it cannot take."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys


@pytest.fixture
def window(qtbot, tmp_path):
    graph = classifier()
    graph.nodes["fc"].params["init"] = {"type": "kaiming_normal", "mode": "fan_out",
                                        "nonlinearity": "relu", "a": 0.0}
    return open_window(qtbot, tmp_path, graph)


def type_into(editor, text: str) -> None:
    editor.field.setFocus()
    editor.field.selectAll()
    QTest.keyClicks(editor.field, text)


def test_typing_an_init_in_the_inspector_sets_it_and_undo_restores_torchs_default(window):
    w = window
    click(w.view.viewport(), node_point(w, "c1"))
    editor = w.inspector.editors["init"]
    assert editor.field.text() == "default"
    type_into(editor, "normal std=0.02")
    assert editor.error.isHidden()
    assert w.document.graph.nodes["c1"].params["init"] == {"type": "normal", "mean": 0.0,
                                                           "std": 0.02}
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert "init" not in w.document.graph.nodes["c1"].params
    assert editor.field.text() == "default"


def test_an_init_reads_as_its_kind_and_arguments_and_json_is_taken_too(window):
    w = window
    click(w.view.viewport(), node_point(w, "fc"))
    editor = w.inspector.editors["init"]
    assert editor.field.text() == "kaiming_normal mode=fan_out nonlinearity=relu a=0"
    type_into(editor, '{"type": "xavier_uniform", "gain": 2}')
    assert editor.error.isHidden()
    assert w.document.graph.nodes["fc"].params["init"] == {"type": "xavier_uniform",
                                                           "gain": 2.0}


def test_bad_init_text_shows_what_is_wrong_and_never_reaches_the_graph(window):
    w = window
    click(w.view.viewport(), node_point(w, "c1"))
    editor = w.inspector.editors["init"]
    type_into(editor, "gaussian")
    assert not editor.error.isHidden()
    assert 'unknown initialisation "gaussian"' in editor.error.text()
    assert "init" not in w.document.graph.nodes["c1"].params
    assert w.document.undo_stack.count() == 0
    type_into(editor, "normal std=-1")  # "normal" on the way is valid: std keeps its default
    assert editor.error.text() == "std: expected a number >= 0, got -1"
    assert w.document.graph.nodes["c1"].params["init"]["std"] == 0.02
