"""Networks in the palette (this file's, and the user's library), instances added from it,
blocks typed with their values and chained after the selection, and instances duplicated
with tied or own weights."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import composer
from composer.graph import Graph
from tests.gui_helpers import CTRL, click, drop_palette_entry, node_point, open_window, press_keys
from tests.network_graphs import gan_with_network

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, gan_with_network())


def double_click_entry(w, type_id: str) -> None:
    item = w.palette.item_for(type_id)
    tree = w.palette.tree
    tree.scrollToItem(item)
    QApplication.processEvents()
    rect = tree.visualItemRect(item).intersected(tree.viewport().rect())
    click(tree.viewport(), rect.center())
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, rect.center())


def type_in_palette(w, text: str) -> None:
    QTest.keyClicks(w.palette.search, text)
    QTest.keyClick(w.palette.search, Qt.Key.Key_Return)


def test_the_files_networks_are_listed_and_one_is_added_by_a_drop(window):
    w = window
    assert w.palette.item_for("net.Discriminator").toolTip(0).startswith(
        "net.Discriminator: Scores an 8x8 image")
    assert w.palette.categories["library"].isHidden()  # nothing saved yet
    drop_palette_entry(w, "net.Discriminator", QPoint(300, 300))
    new = w.scene.selected_node_ids()
    assert new == ["discriminator"]
    assert w.document.graph.nodes["discriminator"].type == "net.Discriminator"
    assert list(w.scene.node_item("discriminator").inputs) == ["image"]


def test_a_network_saved_to_the_library_comes_into_another_graph(window, tmp_path):
    w = window
    click(w.view.viewport(), node_point(w, "d_real"))
    w.actions["save_network"].trigger()
    assert (tmp_path / "library" / "Discriminator.graph.json").exists()
    assert not w.palette.categories["library"].isHidden()
    w.actions["new"].trigger()
    assert w.palette.categories["networks"].isHidden()  # a new graph has none of its own
    double_click_entry(w, "library:Discriminator")
    graph = w.document.graph
    assert list(graph.networks) == ["Discriminator"]
    assert graph.nodes["discriminator"].type == "net.Discriminator"
    assert w.palette.item_for("net.Discriminator") is not None
    press_keys(w, Qt.Key.Key_Z, CTRL)  # one step: the network and its instance
    assert not w.document.graph.networks and not w.document.graph.nodes


def test_a_library_network_differing_from_one_of_the_same_name_comes_in_renamed(window):
    w = window
    click(w.view.viewport(), node_point(w, "d_real"))
    w.actions["save_network"].trigger()
    w.document.graph.networks["Discriminator"].graph.nodes["drop"].params["p"] = 0.1
    double_click_entry(w, "library:Discriminator")
    assert "Discriminator_2" in w.document.graph.networks
    new = w.scene.selected_node_ids()
    assert [w.document.graph.nodes[n].type for n in new] == ["net.Discriminator_2"]


def test_typed_blocks_chain_after_the_selection_with_their_values(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, Graph())
    w.palette.search.setFocus()
    for text in ("digits", "flatten", "linear 32", "leaky 0.2", "dropout p=0.3",
                 "linear 10", "cross_entropy"):
        type_in_palette(w, text)
        assert w.palette.search.text() == "", text
    graph = w.document.graph
    assert [n.type for n in graph.nodes.values()] == [
        "data.digits", "layer.flatten", "layer.linear", "layer.leaky_relu", "layer.dropout",
        "layer.linear", "loss.cross_entropy"]
    assert graph.nodes["linear"].params == {"out_features": 32}
    assert graph.nodes["leaky_relu"].params == {"negative_slope": 0.2}
    assert graph.nodes["dropout"].params == {"p": 0.3}
    assert {str(e) for e in graph.edges} >= {
        "digits.x -> flatten.in", "flatten.out -> linear.in", "linear.out -> leaky_relu.in",
        "leaky_relu.out -> dropout.in", "dropout.out -> linear_2.in",
        "linear_2.out -> cross_entropy.pred"}
    xs = [graph.nodes[n].ui["pos"][0] for n in graph.nodes]
    assert xs == sorted(xs)  # left to right, as the data flows
    errors = [d for d in composer.check(graph) if d.is_error]
    assert [e.message for e in errors] == ["input target is not wired (it takes class ids [B])"]


def test_a_value_that_does_not_fit_is_refused_and_stays_to_be_corrected(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, Graph())
    w.palette.search.setFocus()
    type_in_palette(w, "dropout 3")
    assert not w.document.graph.nodes
    assert "dropout p" in w.statusBar().currentMessage()
    assert w.palette.search.text() == "dropout 3"


def test_instances_duplicate_tied_and_untied(window):
    w = window
    click(w.view.viewport(), node_point(w, "d_real"))
    press_keys(w, Qt.Key.Key_D, SHIFT_CTRL)
    tied = w.scene.selected_node_ids()
    assert [w.document.graph.nodes[n].shares for n in tied] == ["d_real"]
    click(w.view.viewport(), node_point(w, "d_real"))
    press_keys(w, Qt.Key.Key_D, CTRL)
    own = w.scene.selected_node_ids()
    assert [w.document.graph.nodes[n].shares for n in own] == [None]
    assert w.document.graph.nodes[own[0]].type == "net.Discriminator"


def test_an_instance_pasted_into_another_graph_brings_its_network(window):
    w = window
    click(w.view.viewport(), node_point(w, "d_real"))
    press_keys(w, Qt.Key.Key_C, CTRL)
    w.actions["new"].trigger()
    w.view.setFocus()
    press_keys(w, Qt.Key.Key_V, CTRL)
    graph = w.document.graph
    assert list(graph.networks) == ["Discriminator"]
    assert [n.type for n in graph.nodes.values()] == ["net.Discriminator"]
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert not w.document.graph.networks and not w.document.graph.nodes
