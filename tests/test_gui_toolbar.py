"""The main toolbar stays put while the user edits."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QToolBar

from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys


def test_the_search_box_does_not_move_when_an_edit_renames_undo(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, classifier())
    toolbar = w.findChild(QToolBar, "main_toolbar")
    undo_button = toolbar.widgetForAction(w.actions["undo"])
    x = w.find_box.mapTo(w, QPoint(0, 0)).x()
    click(w.view.viewport(), node_point(w, "r1"))
    press_keys(w, Qt.Key.Key_Delete)
    QApplication.processEvents()
    assert "r1" not in w.document.graph.nodes
    assert w.find_box.mapTo(w, QPoint(0, 0)).x() == x
    assert undo_button.text() == "Undo"
    assert w.actions["undo"].toolTip() == "Undo Delete 1 node(s), 0 edge(s)"
    press_keys(w, Qt.Key.Key_Z, CTRL)
    QApplication.processEvents()
    assert "r1" in w.document.graph.nodes
    assert w.find_box.mapTo(w, QPoint(0, 0)).x() == x
    assert not w.actions["undo"].isEnabled()
    assert w.actions["redo"].toolTip().startswith("Redo Delete")
