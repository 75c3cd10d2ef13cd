"""What the canvas shows: shapes, kinds, badges, halos, layout, palettes, the minimap."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRectF
from PySide6.QtTest import QTest

from composer import fileformat
from composer.graph import Edge, Node
from gui import theme
from gui.canvas import Minimap
from gui.canvas.layout import layout_positions
from gui.canvas.metrics import NODE_WIDTH, node_face
from tests.canvas_helpers import LEFT, NONE, canvas, drag, header_at, placed
from tests.conftest import SAMPLES
from tests.graph_builder import classifier, make

__all__ = ["canvas"]  # the fixture, imported for pytest


# --- analysis on the nodes ----------------------------------------------------------------
def test_outputs_show_inferred_shapes_kinds_and_parameter_counts(canvas):
    doc, scene, view = canvas(classifier())
    c1 = scene.node_item("c1")
    assert c1.shapes == {"out": "[B,8,8,8]"}
    assert c1.param_count == 8 * 1 * 9 + 8
    assert scene.node_item("d").shapes == {"x": "[B,1,8,8]", "y": "[B] int64"}
    assert scene.node_item("f").outputs["out"].kind == "vector"
    assert scene.edge_item(Edge("d", "y", "ce", "target")).kind == "label"
    doc.set_param("c1", "out_channels", 4)
    doc.analyse_now()
    assert c1.shapes == {"out": "[B,4,8,8]"}


def test_problems_show_as_badges_with_their_messages(canvas):
    graph = make({"d": "data.digits", "f": "layer.flatten", "fc": "layer.linear",
                  "ce": "loss.cross_entropy"},
                 ["d.x -> f.in", "f.out -> fc.in", "fc.out -> ce.pred"], {"g": (["fc"], ["ce"])})
    doc, scene, view = canvas(graph)
    badge = scene.node_item("ce").badge
    assert badge.isVisible() and badge.severity == "error"
    assert any("target" in m for m in badge.messages)
    assert "target" in badge.toolTip()
    assert scene.node_item("ce").inputs["target"].problem
    doc.connect("d", "y", "ce", "target")
    doc.analyse_now()
    assert not badge.isVisible()


def test_changing_a_merges_inputs_adds_ports_and_keeps_wires_attached(canvas):
    graph = placed({"a": "layer.relu", "b": "layer.relu", "m": "merge.add"},
                   ["a.out -> m.in0", "b.out -> m.in1"])
    doc, scene, view = canvas(graph)
    doc.set_param("m", "inputs", 3)
    item = scene.node_item("m")
    assert list(item.inputs) == ["in0", "in1", "in2"]
    edge = scene.edge_item(Edge("b", "out", "m", "in1"))
    assert edge.path().pointAtPercent(1.0) == item.inputs["in1"].anchor()


# --- layout, palettes, read-only, minimap -------------------------------------------------
def _rects(graph, positions):
    return {n: QRectF(x, y, NODE_WIDTH, node_face(graph, graph.nodes[n]).height)
            for n, (x, y) in positions.items()}


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.graph.json")), ids=lambda p: p.name)
def test_layout_of_every_sample_has_no_overlaps_and_flows_left_to_right(path):
    graph = fileformat.load(path)
    positions = layout_positions(graph)
    rects = list(_rects(graph, positions).items())
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            assert not ra.intersects(rb), f"{a} overlaps {b}"
    for e in graph.edges:
        assert positions[e.src][0] < positions[e.dst][0], str(e)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.graph.json")), ids=lambda p: p.name)
def test_no_two_nodes_of_a_sample_overlap_as_drawn(path):
    graph = fileformat.load(path)
    positions = {n: tuple(node.ui["pos"]) for n, node in graph.nodes.items()}
    rects = list(_rects(graph, positions).items())
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            assert not ra.intersects(rb), f"{a} overlaps {b}"


def test_a_graph_without_positions_is_laid_out_when_opened(canvas):
    doc, scene, view = canvas(classifier())
    rects = [i.sceneBoundingRect() for i in scene.node_items()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert doc.graph.nodes["c1"].ui == {}  # opening does not edit the file


def test_an_unplaced_node_dragged_and_undone_goes_back_where_it_was_drawn(canvas):
    doc, scene, view = canvas(classifier(), zoom=0.5)
    drawn = {i.node_id: i.pos() for i in scene.node_items()}
    for node in ("fc", "c1"):  # one after the other: the second is unplaced when it moves
        drag(view, header_at(view, node), header_at(view, node) + QPoint(30, 120))
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert {i.node_id: i.pos() for i in scene.node_items()} == drawn


def test_dark_palette_repaints_the_canvas_dark(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu"}))
    try:
        theme.set_dark(True)
        scene.apply_theme()
        dark = view.grab().toImage().pixelColor(5, 5)
        theme.set_dark(False)
        scene.apply_theme()
        light = view.grab().toImage().pixelColor(5, 5)
    finally:
        theme.set_dark(False)
        scene.apply_theme()
    assert dark.lightness() < 80 < 200 < light.lightness()


def test_minimap_click_moves_the_view_there(canvas):
    graph = placed({f"n{i}": "layer.relu" for i in range(8)}, gap=500)
    doc, scene, view = canvas(graph)
    minimap = Minimap(view)
    minimap.resize(220, 150)
    minimap.show()
    target = scene.node_item("n7").sceneBoundingRect().center()
    scale, offset, _ = minimap._mapping()
    QTest.mouseClick(minimap, LEFT, NONE, (target * scale + offset).toPoint())
    centre = view.mapToScene(view.viewport().rect().center())
    assert abs(centre.x() - target.x()) < 10 / scale


def test_fitting_keeps_every_node_clear_of_a_floating_minimap(canvas):
    graph = placed({f"n{i}": "layer.relu" for i in range(4)})
    for i, node in enumerate(graph.nodes.values()):  # a square block: it fills the corner
        node.ui["pos"] = [900 * (i % 2), 900 * (i // 2)]
    doc, scene, view = canvas(graph)
    minimap = Minimap(view, parent=view)
    minimap.setGeometry(view.width() - 190, view.height() - 130, 180, 120)
    minimap.show()
    view.fit_all()
    corner = QRectF(minimap.geometry())
    for item in scene.node_items():
        on_screen = QRectF(view.mapFromScene(item.sceneBoundingRect()).boundingRect())
        assert view.viewport().rect().contains(on_screen.toRect())
        assert not on_screen.intersects(corner), f"{item.node_id} lies under the minimap"


def test_graph_replaced_rebuilds_the_scene(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu"}))
    doc.replace_graph(classifier())
    assert {i.node_id for i in scene.node_items()} == set(classifier().nodes)
    doc.graph.add_node(Node("extra", "layer.relu"))  # events of the new graph are followed
    assert scene.node_item("extra") is not None
