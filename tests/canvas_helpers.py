"""Driving the canvas as a user would: real mouse events on the view's viewport."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.canvas import CanvasScene, CanvasView
from gui.document import Document
from tests.graph_builder import make

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def move_held(widget, pos: QPoint, buttons=LEFT) -> None:
    """A mouse move with buttons held (QTest.mouseMove alone does not say which are held)."""
    QTest.mouseMove(widget, pos)
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, buttons, NONE)
    QApplication.sendEvent(widget, event)


def drag(view: CanvasView, start: QPoint, end: QPoint, steps: int = 8,
         pause_at_end=None) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, LEFT, NONE, start)
    for i in range(1, steps + 1):
        move_held(viewport, start + (end - start) * i / steps)
    if pause_at_end is not None:
        pause_at_end()
    QTest.mouseRelease(viewport, LEFT, NONE, end)


def at(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def port_at(view: CanvasView, node: str, port: str, output: bool) -> QPoint:
    item = view.scene().node_item(node)
    return at(view, (item.outputs if output else item.inputs)[port].anchor())


def header_at(view: CanvasView, node: str) -> QPoint:
    item = view.scene().node_item(node)
    return at(view, item.scenePos() + QPointF(item.width / 2, 12))


@pytest.fixture
def canvas(qtbot):
    """A document, its scene and a shown 1000x700 view; `open(graph)` loads and analyses."""
    doc = Document()
    scene = CanvasScene(doc)
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)

    def open_graph(graph, zoom=1.0):
        doc.replace_graph(graph)
        doc.analyse_now()
        view.set_zoom(zoom)
        view.centerOn(scene.nodes_rect().center())
        QApplication.processEvents()
        return doc, scene, view

    return open_graph


def placed(nodes: dict, wires=(), groups=None, gap: float = 260.0):
    """A graph whose nodes sit in one row, left to right, in the given order."""
    graph = make(nodes, list(wires), groups)
    for i, node in enumerate(graph.nodes.values()):
        node.ui["pos"] = [i * gap, 0.0]
    return graph


