""""Load weights…" in the editor: the file is chosen, the table shows where each tensor goes as
the prefix is typed, Apply sets the node's weights key as one undoable edit, and the inspector
shows it and removes it."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QPushButton

from composer.graph import Group
from gui.canvas.context_menu import context_menu
from gui.weights_dialog import WeightsDialog
from tests.composed_graphs import chain
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys


@pytest.fixture
def window(qtbot, tmp_path):
    graph = chain([Group("g", ["a", "b", "c"], ["ce", "ce2"])])
    graph.base_dir = tmp_path
    return open_window(qtbot, tmp_path, graph)


def test_load_weights_matches_as_the_prefix_is_typed_and_applies_as_one_undo_step(
        window, qtbot, tmp_path, monkeypatch):
    torch.save({"head.weight": torch.randn(10, 16), "head.bias": torch.randn(10),
                "other.weight": torch.randn(3)}, tmp_path / "head.pt")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(tmp_path / "head.pt"), ""))
    point = node_point(window, "c")
    click(window.view.viewport(), point)
    menu = context_menu(window.view, point)
    action = next(a for a in menu.actions() if a.text() == "Load weights\u2026")
    action.trigger()
    dialog = window.findChild(WeightsDialog)
    assert dialog is not None and dialog.isVisible()
    table = dialog.table
    assert table.rowCount() == 5  # c's two tensors, not in the file; three with no place
    assert not dialog.apply_button.isEnabled()
    QTest.keyClicks(dialog.prefix_edit, "head.")
    rows = [[table.item(i, j).text() for j in range(5)] for i in range(table.rowCount())]
    assert rows == [["c.weight", "[10,16]", "head.weight", "[10,16]", "ok"],
                    ["c.bias", "[10]", "head.bias", "[10]", "ok"]]
    assert dialog.apply_button.isEnabled()
    click(dialog.apply_button)
    graph = window.document.graph
    assert graph.nodes["c"].weights == {"path": "head.pt", "prefix": "head.", "match": "names"}
    label = window.findChild(QLabel, "node_weights")
    assert label is not None and label.text() == "head.pt (2 of 2 tensors)"
    press_keys(window, Qt.Key.Key_Z, CTRL)
    assert graph.nodes["c"].weights is None
    press_keys(window, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert graph.nodes["c"].weights["prefix"] == "head."
    remove = window.findChild(QPushButton, "remove_weights")
    click(remove)
    QApplication.processEvents()
    assert graph.nodes["c"].weights is None
    assert window.findChild(QLabel, "node_weights") is None or \
        not window.findChild(QLabel, "node_weights").isVisible()


def test_a_shape_that_differs_keeps_apply_disabled_and_names_both_sides(
        window, tmp_path, monkeypatch):
    torch.save({"weight": torch.randn(10, 32), "bias": torch.randn(10)}, tmp_path / "w.pt")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(tmp_path / "w.pt"), ""))
    click(window.view.viewport(), node_point(window, "c"))
    window.actions["load_weights"].trigger()
    dialog = window.findChild(WeightsDialog)
    assert not dialog.apply_button.isEnabled()
    assert dialog.table.item(0, 4).text() == "shapes differ"
    assert "c.weight [10,16] <- weight [10,32]: shapes differ" in dialog.summary.text()
    dialog.match_box.setCurrentText("order")
    assert not dialog.apply_button.isEnabled()
    assert window.document.graph.nodes["c"].weights is None
