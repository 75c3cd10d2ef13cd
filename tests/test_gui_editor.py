"""Editing in the main window with real mouse and keyboard events, each undone and redone."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSpinBox

from composer.graph import Edge
from tests.graph_builder import classifier, make
from tests.gui_helpers import (
    CTRL,
    click,
    drag_mouse,
    drop_palette_entry,
    node_point,
    open_window,
    port_point,
    press_keys,
)

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def undo(window) -> None:
    press_keys(window, Qt.Key.Key_Z, CTRL)


def redo(window) -> None:
    press_keys(window, Qt.Key.Key_Z, SHIFT_CTRL)


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, classifier())


@pytest.fixture
def loose(qtbot, tmp_path):
    """Digits and an unwired convolution, side by side."""
    graph = make({"d": "data.digits", "c": "layer.conv2d"})
    graph.nodes["d"].ui["pos"] = [0, 0]
    graph.nodes["c"].ui["pos"] = [400, 0]
    return open_window(qtbot, tmp_path, graph)


def test_dragging_a_block_from_the_palette_adds_it_where_it_is_dropped(window):
    at = QPoint(200, 150)
    assert drop_palette_entry(window, "layer.dropout", at)
    assert "dropout" in window.document.graph.nodes
    item = window.scene.node_item("dropout")
    assert item is not None
    assert item.sceneBoundingRect().contains(window.view.mapToScene(at))
    undo(window)
    assert "dropout" not in window.document.graph.nodes
    assert window.scene.node_item("dropout") is None
    redo(window)
    assert window.scene.node_item("dropout") is not None


def test_double_clicking_a_palette_entry_adds_it_at_the_view_centre(window):
    window.palette.search.setFocus()
    QTest.keyClicks(window.palette.search, "leaky")
    assert window.palette.visible_type_ids() == ["layer.leaky_relu"]
    item = window.palette.item_for("layer.leaky_relu")
    tree = window.palette.tree
    tree.scrollToItem(item)
    QApplication.processEvents()
    # Click the part of the entry the user can see: however narrow the dock has been laid
    # out, the middle of the entry's text may lie beyond the viewport's edge.
    rect = tree.visualItemRect(item).intersected(tree.viewport().rect())
    assert not rect.isEmpty(), "the filtered entry is on screen"
    click(tree.viewport(), rect.center())  # a double-click starts as a click
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, rect.center())
    assert "leaky_relu" in window.document.graph.nodes
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert window.scene.node_item("leaky_relu").sceneBoundingRect().contains(centre)


def test_dragging_from_an_output_to_an_input_connects_them(loose):
    w = loose
    drag_mouse(w, port_point(w, "d", "x", True), port_point(w, "c", "in", False))
    assert w.document.graph.edges == [Edge("d", "x", "c", "in")]
    w.document.analyse_now()
    assert w.scene.node_item("c").shapes["out"] == "[B,16,6,6]"
    undo(w)
    assert w.document.graph.edges == []
    redo(w)
    assert w.document.graph.edges == [Edge("d", "x", "c", "in")]


def test_an_impossible_wire_is_refused_with_its_reason_shown(loose):
    w = loose
    drag_mouse(w, port_point(w, "d", "y", True), port_point(w, "c", "in", False))
    assert w.document.graph.edges == []
    assert w.scene.bubble.isVisible()
    assert "c" in w.scene.bubble.text and w.scene.bubble.text
    assert w.document.undo_stack.count() == 0


def test_typing_a_parameter_in_the_inspector_changes_the_shape_downstream(window):
    w = window
    click(w.view.viewport(), node_point(w, "c1"))
    assert w.inspector.node_ids == ["c1"]
    box = w.inspector.findChild(QSpinBox, "param_out_channels")
    assert box.value() == 8
    assert w.inspector.count_label.text() == "80 parameters"  # 8 x 3 x 3 + 8
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "12")
    QTest.keyClick(box, Qt.Key.Key_Return)
    w.document.analyse_now()
    assert w.document.graph.nodes["c1"].params["out_channels"] == 12
    assert w.scene.node_item("f").shapes["out"] == "[B,192]"  # 12 x 4 x 4
    assert "[B,192]" not in w.scene.node_item("c1").shapes.values()
    assert w.document.undo_stack.count() == 1  # "1" then "12": one step
    assert w.inspector.count_label.text() == "120 parameters"
    undo(w)
    w.document.analyse_now()
    assert w.scene.node_item("f").shapes["out"] == "[B,128]"
    assert box.value() == 8
    redo(w)
    assert box.value() == 12


def test_a_parameter_out_of_range_shows_the_error_under_the_field(window):
    w = window
    w.scene.select_nodes(["f"])
    w.scene.select_nodes(["d"])
    editor = w.inspector.editors["split"]
    editor.field.selectAll()
    QTest.keyClicks(editor.field, "0.5, 0.2")
    assert "three ratios" in editor.error.text()
    assert not editor.error.isHidden()
    assert "split" not in w.document.graph.nodes["d"].params
    QTest.keyClicks(editor.field, ", 0.3")
    assert editor.error.isHidden()
    assert w.document.graph.nodes["d"].params["split"] == [0.5, 0.2, 0.3]


def test_a_group_is_made_from_the_selected_nodes_and_undone(window):
    w = window
    click(w.view.viewport(), node_point(w, "r1"))
    click(w.view.viewport(), node_point(w, "p1"), CTRL)
    assert sorted(w.groups.selection) == ["p1", "r1"]
    click(w.groups.new_button)
    group = w.document.graph.groups[-1]
    assert group.members == ["r1", "p1"]
    assert w.groups.current_group() == group.id
    assert w.scene.group_item(group.id) is not None
    assert w.groups.list.count() == 2
    undo(w)
    assert len(w.document.graph.groups) == 1
    assert w.groups.list.count() == 1
    redo(w)
    assert w.document.graph.groups[-1].members == ["r1", "p1"]


def test_nodes_join_an_existing_group_and_its_count_follows(window):
    w = window
    w.groups.select_group("g")
    w.scene.select_nodes(["p1", "f"])  # stateless nodes: membership, no new parameters
    click(w.groups.add_button)
    assert w.document.graph.group("g").members == ["c1", "fc", "p1", "f"]
    w.document.analyse_now()
    assert "1,370 params" in w.groups.list.item(0).text()  # 8*9+8 + 128*10+10
    undo(w)
    assert w.document.graph.group("g").members == ["c1", "fc"]


def test_the_optimiser_is_edited_from_the_group_panel(window):
    w = window
    w.groups.select_group("g")
    editor = w.groups.editor
    combo = editor.optimizer_box.combo
    combo.setCurrentText("sgd")
    assert w.document.graph.group("g").optimizer == {"type": "sgd", "lr": 0.001}
    lr = editor.editors["optimizer.lr"].field
    lr.selectAll()
    QTest.keyClicks(lr, "0.05")
    assert w.document.graph.group("g").optimizer["lr"] == 0.05
    undo(w)
    assert w.document.graph.group("g").optimizer["lr"] == 0.001


def test_find_selects_and_centres_a_node_by_label(window):
    w = window
    w.document.set_label("fc", "classifier head")
    press_keys(w, Qt.Key.Key_F, CTRL)
    assert w.find_box.hasFocus()
    QTest.keyClicks(w.find_box, "classifier head")
    QTest.keyClick(w.find_box, Qt.Key.Key_Return)
    assert w.scene.selected_node_ids() == ["fc"]
    assert w.inspector.node_ids == ["fc"]


def test_clicking_a_problem_selects_its_node(window):
    w = window
    w.document.remove_items([], [Edge("p1", "out", "f", "in")])
    w.document.analyse_now()
    tree = w.diagnostics.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    row = next(r for r in rows if r.text(0).startswith("f"))
    tree.scrollToItem(row)
    click(tree.viewport(), tree.visualItemRect(row).center())
    assert w.scene.selected_node_ids() == ["f"]


def test_delete_key_removes_the_selection_and_undo_restores_it(window):
    w = window
    before = w.document.graph.to_dict()
    click(w.view.viewport(), node_point(w, "r1"))
    press_keys(w, Qt.Key.Key_Delete)
    assert "r1" not in w.document.graph.nodes
    undo(w)
    assert w.document.graph.to_dict() == before


def test_edits_are_refused_while_training(window):
    w = window
    w.document.set_read_only(True)
    assert not w.actions["delete"].isEnabled()
    drop_palette_entry(w, "layer.relu", QPoint(100, 100))
    assert "relu" not in w.document.graph.nodes
    QApplication.processEvents()
    assert "read-only" in w.statusBar().currentMessage()


def test_the_inspector_has_a_field_for_every_parameter_of_every_node_type(qtbot, tmp_path):
    from composer import catalogue
    from composer.graph import Graph

    w = open_window(qtbot, tmp_path, Graph())
    for t in catalogue.all_types():
        node_id = w.document.add_node(t.id, (0, 0))
        w.inspector.show_nodes([node_id])
        assert list(w.inspector.editors) == [p.name for p in t.params], t.id
        for p in t.params:
            assert w.inspector.editors[p.name].value == p.default, (t.id, p.name)


def test_the_group_editor_shows_the_arguments_of_each_optimiser_and_lr_schedule(window):
    from composer.optim import LR_SCHEDULES, OPTIMIZERS

    w = window
    w.groups.select_group("g")
    editor = w.groups.editor
    for field, table, box in (("optimizer", OPTIMIZERS, editor.optimizer_box),
                              ("lr_schedule", LR_SCHEDULES, editor.lr_box)):
        for kind, decls in table.items():
            box.combo.setCurrentText(kind)
            assert getattr(w.document.graph.group("g"), field)["type"] == kind
            shown = [k.split(".", 1)[1] for k in editor.editors if k.startswith(field + ".")]
            assert shown == [d.name for d in decls], kind
