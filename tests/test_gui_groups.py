"""Naming optimiser groups from the Groups panel with the keyboard, and undoing it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit

from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, classifier())


def name_editor(w) -> QLineEdit:
    editor = w.groups.list.findChild(QLineEdit, "group_name_edit")
    assert editor is not None and editor.isVisible(), "the name field is not open"
    return editor


def type_name(qtbot, w, text: str) -> None:
    editor = name_editor(w)
    QTest.keyClick(editor, Qt.Key.Key_A, CTRL)
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    editing = QAbstractItemView.State.EditingState
    qtbot.waitUntil(lambda: w.groups.list.state() != editing)
    qtbot.wait(1)  # the rename lands once the field has closed


def test_a_new_group_opens_its_name_for_typing_and_takes_the_name(qtbot, window):
    w = window
    click(w.view.viewport(), node_point(w, "r1"))
    click(w.view.viewport(), node_point(w, "p1"), CTRL)
    click(w.groups.new_button)
    w.document.analyse_now()  # an analysis while the name is open must not close it
    QApplication.processEvents()
    type_name(qtbot, w, "features")
    group = w.document.graph.groups[-1]
    assert group.id == "features" and group.members == ["r1", "p1"]
    assert w.groups.current_group() == "features"
    assert w.scene.group_item("features") is not None
    assert w.groups.list.item(1).text().startswith("features")


def test_f2_renames_a_group_in_place_and_undo_brings_back_the_old_name(qtbot, window):
    w = window
    w.groups.select_group("g")
    w.groups.list.setFocus()
    QTest.keyClick(w.groups.list, Qt.Key.Key_F2)
    type_name(qtbot, w, "classifier")
    graph = w.document.graph
    assert [g.id for g in graph.groups] == ["classifier"]
    assert graph.group("classifier").members == ["c1", "fc"]
    assert w.groups.editor.group_id == "classifier"
    assert w.scene.group_item("classifier") is not None
    assert "Rename group" in w.document.undo_stack.undoText()
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert [g.id for g in graph.groups] == ["g"]
    assert w.groups.list.item(0).text().startswith("g ")
    assert w.scene.group_item("g") is not None and w.scene.group_item("classifier") is None


@pytest.mark.parametrize("name, reason", [("class", "Python keyword"),
                                          ("2nd", "not a valid group id"),
                                          ("fc", "already the id of a node")])
def test_a_name_that_cannot_be_an_id_is_refused_with_the_reason(qtbot, window, name, reason):
    w = window
    w.groups.select_group("g")
    w.groups.list.setFocus()
    QTest.keyClick(w.groups.list, Qt.Key.Key_F2)
    type_name(qtbot, w, name)
    assert [g.id for g in w.document.graph.groups] == ["g"]
    assert reason in w.groups.name_error.text()
    assert w.groups.name_error.isVisible()
