"""Duplicating a chain with Ctrl+D and Ctrl+Shift+D, as a user building a GAN by hand does."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import composer
from tests.graph_builder import make
from tests.gui_helpers import (
    CTRL,
    click,
    drag_mouse,
    node_point,
    open_window,
    port_point,
    press_keys,
)

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
CHAIN = ["c", "r", "f", "fc", "dr"]


def chain_graph():
    """Digits -> conv -> relu -> flatten -> linear -> dropout -> loss, and a second loss
    waiting for a copy of the chain."""
    graph = make(
        {"d": "data.digits", "c": ("layer.conv2d", {"out_channels": 4, "padding": 1}),
         "r": "layer.relu", "f": "layer.flatten", "fc": ("layer.linear", {"out_features": 10}),
         "dr": "layer.dropout", "ce": "loss.cross_entropy", "ce2": "loss.cross_entropy"},
        ["d.x -> c.in", "c.out -> r.in", "r.out -> f.in", "f.out -> fc.in", "fc.out -> dr.in",
         "dr.out -> ce.pred", "d.y -> ce.target", "d.y -> ce2.target"],
        {"g": (["c", "fc"], ["ce", "ce2"])})
    for i, n in enumerate(["d", *CHAIN, "ce"]):
        graph.nodes[n].ui["pos"] = [i * 260.0, 0.0]
    graph.nodes["ce2"].ui["pos"] = [6 * 260.0, 600.0]
    return graph


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, chain_graph())


def select_chain(w) -> None:
    click(w.view.viewport(), node_point(w, CHAIN[0]))
    for n in CHAIN[1:]:
        click(w.view.viewport(), node_point(w, n), CTRL)
    assert sorted(w.scene.selected_node_ids()) == sorted(CHAIN)


def test_a_chain_duplicated_with_tied_weights_checks_clean_once_wired(window):
    w = window
    select_chain(w)
    press_keys(w, Qt.Key.Key_D, SHIFT_CTRL)
    graph = w.document.graph
    copies = w.scene.selected_node_ids()
    assert len(copies) == 5
    shares = {graph.nodes[n].type: graph.nodes[n].shares for n in copies}
    assert shares == {"layer.conv2d": "c", "layer.relu": None, "layer.flatten": None,
                      "layer.linear": "fc", "layer.dropout": None}
    first = next(n for n in copies if graph.nodes[n].type == "layer.conv2d")
    last = next(n for n in copies if graph.nodes[n].type == "layer.dropout")
    w.view.fit_all()
    drag_mouse(w, port_point(w, "d", "x", True), port_point(w, first, "in", False))
    drag_mouse(w, port_point(w, last, "out", True), port_point(w, "ce2", "pred", False))
    errors = [d for d in composer.check(graph) if d.is_error]
    assert errors == []


def test_a_tie_on_a_node_without_weights_is_shown_and_cleared_in_the_inspector(qtbot, tmp_path):
    graph = chain_graph()
    graph.nodes["r"].shares = "c"  # as an older version's Ctrl+Shift+D left it
    w = open_window(qtbot, tmp_path, graph)
    click(w.view.viewport(), node_point(w, "r"))
    assert "has no weights to share" in w.inspector.problems_label.text()
    combo = w.inspector.shares_combo
    assert combo is not None and combo.currentData() == "c"
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Up)  # up to "(own weights)"
    assert w.document.graph.nodes["r"].shares is None
    w.document.analyse_now()
    assert "has no weights to share" not in w.inspector.problems_label.text()


def test_a_tied_copy_names_its_original_by_label_and_the_group_that_trains_it(qtbot, tmp_path):
    from tests.graph_builder import gan

    graph = gan()
    graph.nodes["dr_fc"].label = "critic"
    w = open_window(qtbot, tmp_path, graph)
    click(w.view.viewport(), node_point(w, "dg_fc"))
    combo = w.inspector.shares_combo
    assert combo.currentText() == "critic (dr_fc)"
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "(own weights)", "g_fc", "critic (dr_fc)"]
    groups = w.inspector.groups_label.text()
    assert "disc (through critic (dr_fc))" in groups and "none" not in groups
    assert "critic (dr_fc)" in w.inspector.count_label.text()


@pytest.mark.parametrize("keys", [CTRL, SHIFT_CTRL], ids=["ctrl_d", "ctrl_shift_d"])
def test_duplicates_land_clear_of_the_originals(window, keys):
    w = window
    select_chain(w)
    originals = [w.scene.node_item(n).sceneBoundingRect() for n in CHAIN]
    press_keys(w, Qt.Key.Key_D, keys)
    copies = [w.scene.node_item(n).sceneBoundingRect() for n in w.scene.selected_node_ids()]
    assert len(copies) == 5
    assert not [(a, b) for a in copies for b in originals if a.intersects(b)]
    assert min(c.top() for c in copies) > max(o.bottom() for o in originals)
