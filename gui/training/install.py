"""Puts training and the Code tab into the main window: two docks under the canvas (tabbed
with the problems list), a Run menu, the weights actions in the File menu; and the
screenshot mode's `--train-steps N`."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMenu, QWidget

from gui.code_view import CodeView
from gui.training.panel import TrainingPanel

MIN_TRAINING_HEIGHT = 0.4  # of the window, when a run starts
RUN_MENU = ["start", "pause", "stop", None, "sweep", None, "evaluate", None, "save_weights",
            "load_weights"]


def _dock(window: QMainWindow, title: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock_{title.lower()}")
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    return dock


def _menu(window: QMainWindow, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title and action.menu() is not None:
            return action.menu()
    return None


def install(window: Any) -> tuple[TrainingPanel, CodeView]:
    """Adds the Training and Code docks and the Run menu to a MainWindow."""
    panel = TrainingPanel(window.document, window, getattr(window, "settings", None))
    code = CodeView(window.document, window)
    window.training_dock = _dock(window, "Training", panel)
    window.code_dock = _dock(window, "Code", code)
    window.code_dock.visibilityChanged.connect(code.tab_shown)
    window.tabifyDockWidget(window.diagnostics_dock, window.training_dock)
    window.tabifyDockWidget(window.training_dock, window.code_dock)
    window.diagnostics_dock.raise_()
    for action in panel.actions.values():
        window.addAction(action)  # shortcuts work wherever the focus is in the window
    run_menu = QMenu("&Run", window)
    for name in RUN_MENU:
        if name is None:
            run_menu.addSeparator()
        else:
            run_menu.addAction(panel.actions[name])
    help_menu = _menu(window, "Help")
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu.menuAction(), run_menu)
    else:
        window.menuBar().addMenu(run_menu)
    file_menu = _menu(window, "File")
    quit_action = getattr(window, "actions", {}).get("quit")
    if file_menu is not None and quit_action is not None:
        file_menu.insertActions(quit_action, [panel.actions["save_weights"],
                                              panel.actions["load_weights"]])
        file_menu.insertSeparator(quit_action)
    view_menu = _menu(window, "View")
    if view_menu is not None:
        view_menu.addAction(window.training_dock.toggleViewAction())
        view_menu.addAction(window.code_dock.toggleViewAction())
    panel.state_changed.connect(lambda state: _show_training(window, state))
    panel.selection = lambda: (window.scene.selected_node_ids(), window.document.trail[-1].network
                               if window.document.trail else None)
    return panel, code


def _show_training(window: Any, state: str) -> None:
    """A run brings the Training tab forward, tall enough for its curves."""
    if state != "running":
        return
    dock = window.training_dock
    dock.show()
    dock.raise_()
    if not dock.isFloating() and dock.height() < MIN_TRAINING_HEIGHT * window.height():
        window.resizeDocks([dock], [int(MIN_TRAINING_HEIGHT * window.height())],
                           Qt.Orientation.Vertical)


def train_for_screenshot(window: Any, steps: int, timeout_s: float = 900.0) -> bool:
    """Trains `steps` steps on the panel's worker thread, the event loop running, and leaves
    the Training dock raised and tall enough for its curves. True when the run finished."""
    app = QApplication.instance()
    dock = window.training_dock
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [int(window.height() * 0.5)], Qt.Orientation.Vertical)
    panel: TrainingPanel = window.training_panel
    if not panel.start(steps=steps):
        return False
    loop = QEventLoop()

    def ended(state: str) -> None:
        if state == "idle":
            loop.quit()

    guard = QTimer(singleShot=True, interval=int(timeout_s * 1000))
    guard.timeout.connect(loop.quit)
    panel.state_changed.connect(ended)
    guard.start()
    if panel.state != "idle":
        loop.exec()
    guard.stop()
    panel.state_changed.disconnect(ended)
    if panel.state != "idle":
        panel.stop()
        panel.shutdown()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # let the last redraw and layout settle
        app.processEvents()
        time.sleep(0.02)
    return panel.error is None
