"""The canvas driven by real mouse and key events on the view's viewport, offscreen:
moving, wiring, selecting, deleting, the clipboard, zoom and pan."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from composer.graph import Edge
from gui.canvas.metrics import node_face
from gui.canvas.port_item import REFUSED, TARGET
from gui.canvas.quick_add import matching_types
from tests.canvas_helpers import LEFT, NONE, at, canvas, drag, header_at, move_held, placed, port_at

__all__ = ["canvas"]  # the fixture, imported for pytest


# --- moving -------------------------------------------------------------------------------
def test_dragging_a_node_moves_it_live_and_tells_the_document_once(canvas, monkeypatch):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}, ["d.x -> c.in"]))
    calls = []
    real = doc.move_nodes
    monkeypatch.setattr(doc, "move_nodes", lambda moves: (calls.append(dict(moves)),
                                                          real(moves)))
    edge = scene.edge_item(Edge("d", "x", "c", "in"))
    before_path = edge.path().pointAtPercent(1.0)
    start = header_at(view, "c")
    seen_during = []
    drag(view, start, start + QPoint(120, 80),
         pause_at_end=lambda: seen_during.append(scene.node_item("c").pos()))
    assert seen_during[0] == QPointF(380.0, 80.0)  # moved live, before the release
    assert len(calls) == 1 and calls[0] == {"c": (380.0, 80.0)}
    assert doc.graph.nodes["c"].ui["pos"] == [380.0, 80.0]
    assert edge.path().pointAtPercent(1.0) == before_path + QPointF(120, 80)  # the wire followed
    doc.undo_stack.undo()
    assert scene.node_item("c").pos() == QPointF(260.0, 0.0)


def test_clicking_a_node_without_moving_it_records_no_move(canvas, monkeypatch):
    doc, scene, view = canvas(placed({"d": "data.digits"}))
    calls = []
    monkeypatch.setattr(doc, "move_nodes", calls.append)
    QTest.mouseClick(view.viewport(), LEFT, NONE, header_at(view, "d"))
    assert scene.selected_node_ids() == ["d"] and calls == []


def test_group_halo_follows_a_dragged_member(canvas):
    graph = placed({"d": "data.digits", "fc": "layer.linear", "ce": "loss.cross_entropy"},
                   groups={"g": (["fc"], ["ce"])})
    doc, scene, view = canvas(graph)
    halo = scene.group_item("g")
    before = halo.frames()[0]
    drag(view, header_at(view, "ce"), header_at(view, "ce") + QPoint(0, 150))
    after = halo.frames()
    assert len(after) == 1 and after[0].bottom() == pytest.approx(before.bottom() + 150)


# --- wiring -------------------------------------------------------------------------------
def test_dragging_from_an_output_to_an_input_connects_them(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}))
    drag(view, port_at(view, "d", "x", True), port_at(view, "c", "in", False))
    assert doc.graph.edges == [Edge("d", "x", "c", "in")]
    assert scene.edge_item(Edge("d", "x", "c", "in")) is not None
    assert scene.node_item("c").inputs["in"].connected


def test_dragging_from_an_input_back_to_an_output_connects_them(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}))
    drag(view, port_at(view, "c", "in", False), port_at(view, "d", "x", True))
    assert doc.graph.edges == [Edge("d", "x", "c", "in")]


def test_a_wire_dropped_near_a_port_snaps_to_it(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}))
    drag(view, port_at(view, "d", "x", True), port_at(view, "c", "in", False) + QPoint(12, 9))
    assert doc.graph.edges == [Edge("d", "x", "c", "in")]


def test_an_impossible_wire_is_refused_with_its_reason_beside_the_cursor(canvas, qtbot):
    graph = placed({"d": "data.digits", "f": "layer.flatten", "c": "layer.conv2d"},
                   ["d.x -> f.in"])
    doc, scene, view = canvas(graph)
    end = port_at(view, "c", "in", False)
    with qtbot.waitSignal(doc.message) as said:
        drag(view, port_at(view, "f", "out", True), end)
    assert doc.graph.edges == [Edge("d", "x", "f", "in")]
    assert "feature maps" in said.args[0] and "reshape" in said.args[0]
    assert scene.bubble.isVisible() and scene.bubble.text == said.args[0]
    assert (view.mapFromScene(scene.bubble.pos()) - end).manhattanLength() <= 2


def test_while_wiring_compatible_ports_glow_and_the_others_fade(canvas):
    graph = placed({"d": "data.digits", "c": "layer.conv2d", "fc": "layer.linear",
                    "ce": "loss.cross_entropy"})
    doc, scene, view = canvas(graph, zoom=0.6)
    states = {}

    def look():
        for node in ("c", "fc", "ce"):
            for name, port in scene.node_item(node).inputs.items():
                states[f"{node}.{name}"] = port.wire_state

    drag(view, port_at(view, "d", "y", True), at(view, QPointF(120, 400)), pause_at_end=look)
    assert states["ce.target"] == TARGET
    assert states["c.in"] == REFUSED and states["fc.in"] == REFUSED  # labels feed no layer
    assert scene.node_item("ce").inputs["target"].wire_state == "idle"  # reset after the drop
    assert doc.graph.edges == []


def test_picking_up_a_wired_input_and_dropping_it_on_empty_canvas_removes_the_wire(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}, ["d.x -> c.in"]))
    drag(view, port_at(view, "c", "in", False), at(view, QPointF(300, 400)))
    assert doc.graph.edges == []
    doc.undo_stack.undo()
    assert doc.graph.edges == [Edge("d", "x", "c", "in")]
    assert scene.edge_item(Edge("d", "x", "c", "in")).isVisible()


def test_picking_up_a_wire_moves_it_to_another_input_in_one_undo_step(canvas):
    graph = placed({"d": "data.digits", "a": "layer.relu", "b": "layer.relu"}, ["d.x -> a.in"])
    doc, scene, view = canvas(graph, zoom=0.8)
    drag(view, port_at(view, "a", "in", False), port_at(view, "b", "in", False))
    assert doc.graph.edges == [Edge("d", "x", "b", "in")]
    doc.undo_stack.undo()
    assert doc.graph.edges == [Edge("d", "x", "a", "in")]


def test_a_wire_let_go_on_the_canvas_offers_fitting_types_and_wires_the_choice(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits"}))
    drag(view, port_at(view, "d", "y", True), at(view, QPointF(420, 60)))
    popup = view.quick_add
    assert popup is not None and popup.isVisible()
    offered = popup.visible_type_ids()
    assert "loss.cross_entropy" in offered and "layer.conv2d" not in offered  # labels
    QTest.keyClicks(popup.search, "cross")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    (loss,) = [n for n in doc.graph.nodes if n != "d"]
    assert doc.graph.edges == [Edge("d", "y", loss, "target")]
    assert scene.node_item(loss).inputs["target"].anchor().x() == pytest.approx(420, abs=1)
    doc.undo_stack.undo()  # one step takes back the node and its wire
    assert list(doc.graph.nodes) == ["d"] and doc.graph.edges == []


def test_clicking_a_port_without_dragging_changes_nothing(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}, ["d.x -> c.in"]))
    QTest.mouseClick(view.viewport(), LEFT, NONE, port_at(view, "c", "in", False))
    QTest.mouseClick(view.viewport(), LEFT, NONE, port_at(view, "d", "y", True))
    assert doc.graph.edges == [Edge("d", "x", "c", "in")] and view.quick_add is None
    assert scene.edge_item(Edge("d", "x", "c", "in")).isVisible()


def test_right_click_menu_acts_on_the_node_under_the_cursor(canvas):
    from gui.canvas.context_menu import context_menu

    doc, scene, view = canvas(placed({"a": "layer.relu", "b": "layer.relu"}))
    menu = context_menu(view, header_at(view, "b"))
    assert scene.selected_node_ids() == ["b"]
    (delete,) = [a for a in menu.actions() if a.text() == "Delete"]
    delete.trigger()
    assert list(doc.graph.nodes) == ["a"]
    empty = context_menu(view, at(view, QPointF(100, 500)))
    assert "Paste" in [a.text() for a in empty.actions()]


# --- selecting, deleting, clipboard -------------------------------------------------------
def test_rubber_band_selects_the_nodes_it_touches(canvas):
    graph = placed({"a": "layer.relu", "b": "layer.relu", "c": "layer.relu"}, gap=240)
    doc, scene, view = canvas(graph, zoom=0.8)
    start = at(view, QPointF(-40, -40))
    end = at(view, QPointF(300, 120))
    selections = []
    scene.node_selection_changed.connect(selections.append)
    drag(view, start, end)
    assert scene.selected_node_ids() == ["a", "b"]
    assert selections[-1] == ["a", "b"]


def test_delete_key_removes_the_selection_and_undo_brings_it_back(canvas):
    graph = placed({"d": "data.digits", "c": "layer.conv2d", "r": "layer.relu"},
                   ["d.x -> c.in", "c.out -> r.in"])
    doc, scene, view = canvas(graph, zoom=0.7)
    scene.select_nodes(["c"])
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert "c" not in doc.graph.nodes and scene.node_item("c") is None
    assert doc.graph.edges == [] and scene.edge_items() == []
    doc.undo_stack.undo()
    assert scene.node_item("c") is not None and len(scene.edge_items()) == 2


def test_a_selected_wire_can_be_deleted_on_its_own(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits", "c": "layer.conv2d"}, ["d.x -> c.in"]))
    edge = scene.edge_item(Edge("d", "x", "c", "in"))
    QTest.mouseClick(view.viewport(), LEFT, NONE, at(view, edge.path().pointAtPercent(0.5)))
    assert edge.isSelected()
    view.delete_selection()
    assert doc.graph.edges == [] and set(doc.graph.nodes) == {"d", "c"}


def test_copy_paste_and_duplicate_tied_add_selected_copies(canvas):
    doc, scene, view = canvas(placed({"c": "layer.conv2d", "r": "layer.relu"}, ["c.out -> r.in"]))
    scene.select_nodes(["c", "r"])
    view.copy()
    new = view.paste()
    assert len(new) == 2 and scene.selected_node_ids() == new
    assert len(doc.graph.edges) == 2  # the wire among the copies came too
    scene.select_nodes(["c"])
    tied = view.duplicate(tied=True)
    assert doc.graph.nodes[tied[0]].shares == "c"
    assert "shares" in dict(node_face(doc.graph, doc.graph.nodes[tied[0]]).params)


def test_dropping_a_palette_entry_adds_that_node_where_it_was_dropped(canvas):
    doc, scene, view = canvas(placed({"d": "data.digits"}))
    mime = QMimeData()
    mime.setData("application/x-composer-node-type", b"layer.conv2d")
    where = at(view, QPointF(500, 300))
    copy = Qt.DropAction.CopyAction
    for event in (QDragEnterEvent(where, copy, mime, LEFT, NONE),
                  QDragMoveEvent(where, copy, mime, LEFT, NONE),
                  QDropEvent(QPointF(where), copy, mime, LEFT, NONE)):
        QApplication.sendEvent(view.viewport(), event)
        assert event.isAccepted()
    (added,) = [n for n in doc.graph.nodes.values() if n.type == "layer.conv2d"]
    item = scene.node_item(added.id)
    assert item.sceneBoundingRect().contains(QPointF(500, 300))
    assert scene.selected_node_ids() == [added.id]


def test_quick_add_finds_types_by_words_and_adds_the_first_at_the_cursor(canvas, qtbot):
    doc, scene, view = canvas(placed({"d": "data.digits"}))
    assert matching_types("conv")[0] == "layer.conv2d"
    assert "loss.cross_entropy" in matching_types("class loss")
    spot = at(view, QPointF(400, 500))
    QTest.mouseDClick(view.viewport(), LEFT, NONE, spot)
    popup = view.quick_add
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.search, "residual")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    (added,) = [n for n in doc.graph.nodes.values() if n.type == "block.residual"]
    assert scene.node_item(added.id).sceneBoundingRect().contains(QPointF(400, 500))


def test_dragging_a_node_against_the_edge_scrolls_the_canvas(canvas, qtbot):
    doc, scene, view = canvas(placed({"a": "layer.relu"}))
    viewport = view.viewport()
    start = header_at(view, "a")
    edge = QPoint(viewport.width() - 4, start.y())
    before = view.mapToScene(viewport.rect().center())
    grab = view.mapToScene(start).x() - scene.node_item("a").pos().x()
    QTest.mousePress(viewport, LEFT, NONE, start)
    move_held(viewport, start + QPoint(20, 0))
    move_held(viewport, edge)
    qtbot.wait(200)  # held at the edge
    QTest.mouseRelease(viewport, LEFT, NONE, edge)
    scrolled = view.mapToScene(viewport.rect().center()).x() - before.x()
    assert scrolled > 50
    # the node stayed under the cursor while the canvas moved on
    assert doc.graph.nodes["a"].ui["pos"][0] == pytest.approx(view.mapToScene(edge).x() - grab,
                                                              abs=2)


# --- zoom, pan, fit -----------------------------------------------------------------------
def test_wheel_zooms_about_the_cursor(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu", "b": "layer.relu"}))
    cursor = QPoint(700, 200)
    under = view.mapToScene(cursor)
    wheel = QWheelEvent(QPointF(cursor), QPointF(view.viewport().mapToGlobal(cursor)),
                        QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton, NONE,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() > 1.3
    after = view.mapToScene(cursor)
    assert abs(after.x() - under.x()) < 2 and abs(after.y() - under.y()) < 2


def test_middle_drag_pans_the_view(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu"}))
    before = view.mapToScene(QPoint(500, 350))
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, NONE, QPoint(500, 350))
    move_held(viewport, QPoint(400, 300), Qt.MouseButton.MiddleButton)
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, NONE, QPoint(400, 300))
    after = view.mapToScene(QPoint(500, 350))
    assert after - before == QPointF(100, 50)


def test_fit_all_shows_every_node_and_never_magnifies(canvas):
    graph = placed({f"n{i}": "layer.relu" for i in range(12)}, gap=400)
    doc, scene, view = canvas(graph, zoom=2.0)
    view.fit_all()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(i.sceneBoundingRect()) for i in scene.node_items())
    assert view.zoom() < 0.3
    doc.replace_graph(placed({"a": "layer.relu"}))
    view.fit_all()
    assert view.zoom() == pytest.approx(1.0)


def test_zoom_keys_and_limits(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu"}))
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(1.25)
    for _ in range(40):
        view.zoom_out()
    assert view.zoom() == pytest.approx(0.08)


def test_select_requested_centres_the_node(canvas):
    graph = placed({f"n{i}": "layer.relu" for i in range(10)}, gap=400)
    doc, scene, view = canvas(graph)
    doc.select_requested.emit(["n9"])
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert scene.selected_node_ids() == ["n9"]
    assert visible.contains(scene.node_item("n9").sceneBoundingRect())


def test_arrow_keys_nudge_the_selection_one_undo_step_each(canvas):
    doc, scene, view = canvas(placed({"a": "layer.relu", "b": "layer.relu"}))
    scene.select_nodes(["a", "b"])
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Right)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert doc.graph.nodes["b"].ui["pos"] == [270.0, 50.0]
    assert scene.node_item("a").pos() == QPointF(10, 50)
    doc.undo_stack.undo()
    assert scene.node_item("a").pos() == QPointF(10, 0)


def test_read_only_shows_a_banner_and_refuses_wiring_and_moving(canvas):
    graph = placed({"d": "data.digits", "c": "layer.conv2d"})
    doc, scene, view = canvas(graph)
    banner_spot = (view.viewport().width() // 2, 12)  # above the text
    before = view.grab().toImage().pixelColor(*banner_spot)
    doc.set_read_only(True)
    banner = view.grab().toImage().pixelColor(*banner_spot)
    assert before.lightness() > 200 and banner.red() > 150 > banner.blue()  # amber
    drag(view, port_at(view, "d", "x", True), port_at(view, "c", "in", False))
    drag(view, header_at(view, "c"), header_at(view, "c") + QPoint(50, 50))
    assert doc.graph.edges == [] and scene.node_item("c").pos() == QPointF(260, 0)
    assert "read-only" in scene.bubble.text


