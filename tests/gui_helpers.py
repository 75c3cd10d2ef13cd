"""Driving the main window as a user would: real mouse, keyboard and drop events."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from composer.graph import Graph
from gui.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier


def open_window(qtbot, tmp_path: Path, graph: Graph | None = None) -> MainWindow:
    """A shown window with its own settings file and network library, showing `graph`,
    analysed and fitted."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, library=tmp_path / "library")
    # Closing at teardown must not stop at the unsaved-changes prompt.
    qtbot.addWidget(window, before_close_func=lambda w: w.document.undo_stack.setClean())
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    if graph is not None:
        window.document.replace_graph(graph)
    window.document.analyse_now()
    QApplication.processEvents()
    window.view.fit_all()
    QApplication.processEvents()
    return window


def viewport_point(window: MainWindow, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def port_point(window: MainWindow, node: str, port: str, output: bool) -> QPoint:
    item = window.scene.node_item(node)
    table = item.outputs if output else item.inputs
    return viewport_point(window, table[port].anchor())


def node_point(window: MainWindow, node: str) -> QPoint:
    """A point on the node's header: a click there selects it and hits no port."""
    rect = window.scene.node_item(node).sceneBoundingRect()
    return viewport_point(window, QPointF(rect.center().x(), rect.top() + 12))


def drag_mouse(window: MainWindow, start: QPoint, end: QPoint, steps: int = 6) -> None:
    """Press, move in steps, release: the gesture of wiring or moving."""
    viewport = window.view.viewport()
    QTest.mousePress(viewport, LEFT, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        x = start.x() + (end.x() - start.x()) * i // steps
        y = start.y() + (end.y() - start.y()) * i // steps
        QTest.mouseMove(viewport, QPoint(x, y))
    QTest.mouseRelease(viewport, LEFT, Qt.KeyboardModifier.NoModifier, end)


def click(widget, pos: QPoint | None = None, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    if pos is None:
        QTest.mouseClick(widget, LEFT, modifier)
    else:
        QTest.mouseClick(widget, LEFT, modifier, pos)


def drop_palette_entry(window: MainWindow, type_id: str, at: QPoint) -> bool:
    """Delivers the palette's own drag data to the canvas as enter, move and drop events.
    (QTest's mouse moves do not drive a QDrag, so the drop events are sent directly.)"""
    item = window.palette.item_for(type_id)
    mime = window.palette.tree.mimeData([item])
    viewport = window.view.viewport()
    action = Qt.DropAction.CopyAction
    pos = QPointF(at)
    enter = QDragEnterEvent(at, action, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(at, action, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(pos, action, mime, LEFT, Qt.KeyboardModifier.NoModifier, QEvent.Type.Drop)
    QApplication.sendEvent(viewport, drop)
    return enter.isAccepted() and drop.isAccepted()


def press_keys(window: MainWindow, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the user's focus is: on the canvas."""
    window.view.setFocus()
    QTest.keyClick(window.view, key, modifier)
