"""The Problems list while a graph is being built: errors first, a chain in one line."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.graph_builder import make
from tests.gui_helpers import click, open_window


def building():
    """A trained classifier, a six-node chain started from its data and not yet finished,
    and a merge missing an input."""
    return make(
        {"d": "data.digits", "c1": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
         "f": "layer.flatten", "fc": ("layer.linear", {"out_features": 10}),
         "ce": "loss.cross_entropy",
         "c2": ("layer.conv2d", {"out_channels": 8}), "r2": "layer.relu",
         "p2": "layer.maxpool2d", "f2": "layer.flatten",
         "fc2": ("layer.linear", {"out_features": 32}), "dr2": "layer.dropout",
         "m": "merge.concat"},
        ["d.x -> c1.in", "c1.out -> f.in", "f.out -> fc.in", "fc.out -> ce.pred",
         "d.y -> ce.target", "d.x -> c2.in", "c2.out -> r2.in", "r2.out -> p2.in",
         "p2.out -> f2.in", "f2.out -> fc2.in", "fc2.out -> dr2.in", "fc.out -> m.in0"],
        {"g": (["c1", "fc"], ["ce"])})


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, building())


def shown_rows(w) -> list[tuple[str, str]]:
    tree = w.diagnostics.tree
    return [(tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(1))
            for i in range(tree.topLevelItemCount())]


def test_errors_come_first_and_an_unfinished_chain_is_one_line(window):
    w = window
    rows = shown_rows(w)
    assert rows[0] == ("m.in1", "input in1 is not wired")
    assert [r for r in rows if "reach" in r[1]] == [
        ("m", "reaches no loss: its output is never used in training; wire it towards a loss "
              "or delete it"),
        ("6 nodes", "6 nodes reach no loss: c2 \u2192 r2 \u2192 \u2026 \u2192 dr2 "
                    "(unfinished chain)")]
    assert len(rows) == 3


def test_clicking_an_unfinished_chain_selects_its_nodes(window):
    w = window
    tree = w.diagnostics.tree
    row = tree.findItems("6 nodes", Qt.MatchFlag.MatchExactly, 0)[0]
    click(tree.viewport(), tree.visualItemRect(row).center())
    assert w.scene.selected_node_ids() == ["c2", "r2", "p2", "f2", "fc2", "dr2"]


def test_the_warnings_toggle_leaves_only_the_errors(window):
    w = window
    click(w.diagnostics.show_warnings)
    assert shown_rows(w) == [("m.in1", "input in1 is not wired")]
    assert "7 warnings (hidden)" in w.diagnostics.summary.text()
    click(w.diagnostics.show_warnings)
    assert len(shown_rows(w)) == 3
