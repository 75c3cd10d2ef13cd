"""Network instances wherever the editor meets nodes: their face on the canvas, the inspector,
the problems list and the groups panel, driven by real clicks and keys."""

from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QSpinBox

from tests.gui_helpers import click, node_point, open_window
from tests.network_graphs import DISCRIMINATOR, gan_with_network

D_PARAMS = 64 * 32 + 32 + 32 * 1 + 1  # fc1 and fc2 of the Discriminator


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, gan_with_network())


def test_an_instance_shows_its_ports_shapes_parameter_count_and_what_is_inside(window):
    item = window.scene.node_item("d_real")
    assert list(item.inputs) == ["image"] and list(item.outputs) == ["logit"]
    assert item.shapes == {"logit": "[B,1]"}
    assert item.param_count == D_PARAMS
    assert item.face.inside == "5 nodes: flatten \u2192 linear \u2192 leaky_relu \u2192 \u2026"
    assert item.subtitle == "Discriminator"
    tied = window.scene.node_item("d_fake")
    assert tied.shapes == {"logit": "[B,1]"}
    assert ("shares", "d_real") in tied.face.params
    assert not item.has_error and not tied.has_error


def test_the_inspector_edits_an_instance_parameter_and_every_instance_follows(window):
    w = window
    click(w.view.viewport(), node_point(w, "d_real"))
    assert w.inspector.node_ids == ["d_real"]
    assert any("net.Discriminator" in label.text() for label in w.inspector.findChildren(QLabel))
    assert w.inspector.findChild(QLabel, "instance_inside").text().startswith("5 nodes")
    assert w.inspector.count_label.text() == f"{D_PARAMS:,} parameters"
    assert "image \u2190 [B,1,8,8]" in w.inspector.shapes_label.text()
    assert "logit \u2192 [B,1]" in w.inspector.shapes_label.text()
    box = w.inspector.findChild(QSpinBox, "param_width")
    assert box.value() == 32
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "64")
    QTest.keyClick(box, Qt.Key.Key_Return)
    w.document.analyse_now()
    assert w.document.graph.nodes["d_real"].params == {"width": 64}
    assert w.inspector.count_label.text() == f"{64 * 64 + 64 + 65:,} parameters"
    assert w.document.undo_stack.count() == 1
    click(w.view.viewport(), node_point(w, "d_fake"))
    assert w.inspector.count_label.text() == "shares the weights of d_real"


def test_a_problem_inside_an_instance_names_its_path_and_selects_the_instance(qtbot, tmp_path):
    broken = copy.deepcopy(DISCRIMINATOR)
    broken["nodes"].append({"id": "sum", "type": "merge.add"})
    broken["edges"] = [e for e in broken["edges"] if e["to"] != "fc2.in"] + [
        {"from": "drop.out", "to": "sum.in0"}, {"from": "sum.out", "to": "fc2.in"}]
    w = open_window(qtbot, tmp_path, gan_with_network(broken))
    tree = w.diagnostics.tree
    rows = {tree.topLevelItem(i).text(0): tree.topLevelItem(i)
            for i in range(tree.topLevelItemCount())}
    assert "d_real/sum.in1" in rows, list(rows)
    badge = w.scene.node_item("d_real").diagnostics
    assert any(d.message.startswith("sum: input in1 is not wired") for d in badge)
    row = rows["d_real/sum.in1"]
    click(tree.viewport(), tree.visualItemRect(row).center())
    assert w.scene.selected_node_ids() == ["d_real"]
    assert "sum: input in1 is not wired" in w.inspector.problems_label.text()


def test_the_groups_panel_counts_the_parameters_inside_an_instance_member(window):
    w = window
    texts = [w.groups.list.item(i).text() for i in range(w.groups.list.count())]
    assert texts[0] == f"disc  \u00b7  {D_PARAMS:,} params"
    click(w.view.viewport(), node_point(w, "d_real"))
    assert "disc" in w.inspector.groups_label.text()
    click(w.view.viewport(), node_point(w, "d_fake"))
    assert "disc (through d_real)" in w.inspector.groups_label.text()
