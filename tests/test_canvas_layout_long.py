"""Auto-layout of a graph too long for one row: wrapped into rows a user can read at fit."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from composer.graph import Graph
from tests.graph_builder import make
from tests.gui_helpers import CTRL, open_window, press_keys

# The large-print face of a node is drawn for zooms from about 0.3 (gui/canvas/summary.py):
# fitted at that zoom or more, every node shows its title and shapes in readable type.
READABLE_ZOOM = 0.3


def long_chain(blocks: int = 9) -> Graph:
    """Stem, `blocks` residual blocks of seven nodes each (a skip around five), pooling,
    head and loss: 70 nodes for 9 blocks, laid out nowhere yet."""
    nodes = {"d": "data.digits", "stem": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
             "stem_relu": "layer.relu"}
    wires = ["d.x -> stem.in", "stem.out -> stem_relu.in"]
    prev = "stem_relu"
    for b in range(blocks):
        p = f"b{b}_"
        chain = [p + "conv1", p + "bn1", p + "relu1", p + "conv2", p + "bn2"]
        nodes |= {p + "conv1": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
                  p + "bn1": "layer.batchnorm2d", p + "relu1": "layer.relu",
                  p + "conv2": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
                  p + "bn2": "layer.batchnorm2d", p + "add": "merge.add", p + "out": "layer.relu"}
        wires += [f"{a}.out -> {b_}.in" for a, b_ in zip([prev, *chain], chain, strict=False)]
        wires += [f"{p}bn2.out -> {p}add.in0", f"{prev}.out -> {p}add.in1",
                  f"{p}add.out -> {p}out.in"]
        prev = p + "out"
    nodes |= {"pool": "layer.adaptive_avgpool2d", "flat": "layer.flatten",
              "fc": ("layer.linear", {"out_features": 10}), "ce": "loss.cross_entropy"}
    wires += [f"{prev}.out -> pool.in", "pool.out -> flat.in", "flat.out -> fc.in",
              "fc.out -> ce.pred", "d.y -> ce.target"]
    return make(nodes, wires, {"net": (["stem", "fc"], ["ce"])})


@pytest.fixture
def window(qtbot, tmp_path):
    graph = long_chain()
    assert len(graph.nodes) == 70
    return open_window(qtbot, tmp_path, graph)


def test_a_70_node_chain_auto_laid_out_fits_the_window_at_a_readable_zoom(window):
    w = window
    press_keys(w, Qt.Key.Key_L, CTRL)
    QApplication.processEvents()
    w.view.fit_all()
    assert w.view.zoom() >= READABLE_ZOOM
    rects = {n: w.scene.node_item(n).sceneBoundingRect() for n in w.document.graph.nodes}
    overlapping = [(a, b) for a, b in itertools.combinations(rects, 2)
                   if rects[a].intersects(rects[b])]
    assert overlapping == []
    rows = {round(r.top()) for r in rects.values()}
    assert len(rows) > 3, "the chain should wrap into rows"
    visible = w.view.mapToScene(w.view.viewport().rect()).boundingRect()
    assert all(visible.contains(r) for r in rects.values())


def test_a_short_graph_still_lies_in_one_row(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, long_chain(blocks=1))
    press_keys(w, Qt.Key.Key_L, CTRL)
    QApplication.processEvents()
    xs = [w.scene.node_item(n).pos().x() for n in ["stem", "b0_conv1", "b0_add", "flat", "fc"]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
