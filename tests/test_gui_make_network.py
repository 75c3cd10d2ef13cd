"""Selected nodes become a network (Ctrl+G, a name, Enter), and an instance unpacks back into
nodes (Ctrl+Shift+G): each one undo step, wires and group memberships carried across."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import composer
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys
from tests.test_gui_duplicate import chain_graph

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, chain_graph())


def select(w, ids: list[str]) -> None:
    click(w.view.viewport(), node_point(w, ids[0]))
    for n in ids[1:]:
        click(w.view.viewport(), node_point(w, n), CTRL)
    assert w.scene.selected_node_ids() == ids


def make_network(w, ids: list[str], name: str) -> None:
    select(w, ids)
    press_keys(w, Qt.Key.Key_G, CTRL)
    edit = w.networks.name_popup.edit
    assert edit.text() == "Network" and edit.hasFocus()
    QTest.keyClicks(edit, name)
    QTest.keyClick(edit, Qt.Key.Key_Return)


def edges(graph) -> set[str]:
    return {str(e) for e in graph.edges}


def errors(graph) -> list[str]:
    return [str(d) for d in composer.check(graph) if d.is_error]


def test_selected_nodes_become_one_instance_wired_as_before_in_one_undo_step(window):
    w = window
    before = w.document.graph.to_dict()
    make_network(w, ["c", "r", "f"], "Trunk")
    graph = w.document.graph
    network = graph.networks["Trunk"]
    assert list(network.graph.nodes) == ["c", "r", "f"]
    assert network.inputs == {"in_": ["c.in"]} and network.outputs == {"out": "f.out"}
    assert w.scene.selected_node_ids() == ["trunk"]
    assert {"d.x -> trunk.in_", "trunk.out -> fc.in"} <= edges(graph)
    assert not {"c", "r", "f"} & set(graph.nodes)
    assert graph.group("g").members == ["trunk", "fc"]
    assert errors(graph) == errors(chain_graph())  # ce2 waits for a wire, as before
    w.document.analyse_now()
    assert w.scene.node_item("trunk").shapes == {"out": "[B,256]"}  # 4 x 8 x 8
    assert w.document.undo_stack.count() == 1
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.to_dict() == before
    press_keys(w, Qt.Key.Key_Z, SHIFT_CTRL)
    assert "Trunk" in w.document.graph.networks and "trunk" in w.document.graph.nodes


def test_a_group_listing_only_some_moved_nodes_lists_paths_into_the_instance(window):
    w = window
    make_network(w, ["f", "fc", "dr"], "Head")
    assert w.document.graph.group("g").members == ["c", "head"]
    w.document.undo_stack.undo()
    make_network(w, ["c", "r", "f", "fc"], "Body")  # g lists c and fc: the whole network
    assert w.document.graph.group("g").members == ["body"]
    w.document.undo_stack.undo()
    w.document.update_group("g", members=["fc"])
    make_network(w, ["c", "r", "f", "fc"], "Body")  # only fc of the two: a path into it
    assert w.document.graph.group("g").members == ["body/fc"]


def test_unpacking_an_instance_gives_back_the_nodes_wired_and_grouped_as_before(window):
    w = window
    make_network(w, ["c", "r", "f"], "Trunk")
    w.document.analyse_now()
    original = w.document.graph.copy()
    click(w.view.viewport(), node_point(w, "trunk"))
    press_keys(w, Qt.Key.Key_G, SHIFT_CTRL)
    graph = w.document.graph
    assert sorted(w.scene.selected_node_ids()) == ["c", "f", "r"]
    assert edges(graph) == edges(chain_graph())
    assert graph.group("g").members == ["c", "fc"]
    assert "Trunk" in graph.networks  # the definition stays, for other instances
    assert errors(graph) == errors(chain_graph())
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph == original


def test_data_nodes_cannot_go_into_a_network_and_nothing_changes(window):
    w = window
    before = w.document.graph.to_dict()
    make_network(w, ["d", "c"], "Trunk")
    assert "d is a data node" in w.statusBar().currentMessage()
    assert w.document.graph.to_dict() == before
    assert w.document.undo_stack.count() == 0


def test_a_name_that_cannot_be_a_class_name_is_refused_in_the_popup(window):
    w = window
    select(w, ["c", "r"])
    press_keys(w, Qt.Key.Key_G, CTRL)
    popup = w.networks.name_popup
    QTest.keyClicks(popup.edit, "trunk")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert "start with a capital letter" in popup.error.text()
    assert popup.isVisible() and not w.document.graph.networks
    popup.edit.selectAll()
    QTest.keyClicks(popup.edit, "Trunk")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible() and "Trunk" in w.document.graph.networks
