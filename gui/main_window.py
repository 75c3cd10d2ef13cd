"""The main window: canvas in the middle, palette, inspector, groups and problems docked.

Wiring only: every edit goes through the Document, every view follows it.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ComposerError
from gui import levels, menus, theme, typed_add
from gui.breadcrumb import Breadcrumb
from gui.canvas import CanvasScene, CanvasView, Minimap
from gui.diagnostics import DiagnosticsPanel
from gui.document import Document
from gui.files import FileActions
from gui.find import FindBox
from gui.groups_panel import GroupsPanel
from gui.inspector import Inspector
from gui.library import Library
from gui.network_actions import NetworkActions
from gui.palette import Palette
from gui.training.install import install as install_training

log = logging.getLogger(__name__)

APP_NAME = "Model Composer"
MESSAGE_MS = 6000


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def default_settings() -> QSettings:
    return QSettings("ModelComposer", "Model Composer")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None,
                 library: Path | None = None):
        super().__init__(parent)
        self.settings = settings or default_settings()
        self.document = Document(self)
        self.document.library = Library(library)  # None: the user's data folder
        self.files = FileActions(self, self.document, self.settings)
        self.scene = CanvasScene(self.document)
        self.view = CanvasView(self.scene)
        self.breadcrumb = Breadcrumb(self.document)
        self.setCentralWidget(self._canvas_area())
        self.minimap = Minimap(self.view, parent=self.view)
        self.view.installEventFilter(self)
        self.palette = Palette()
        self.inspector = Inspector(self.document)
        self.groups = GroupsPanel(self.document)
        self.diagnostics = DiagnosticsPanel(self.document)
        self.find_box = FindBox(self.document)
        self.networks = NetworkActions(self)
        self._build_docks()
        self.actions = menus.build(self)
        self._build_status_bar()
        self._connect()
        self.training_panel, self.code_view = install_training(self)
        self.set_dark(self.settings.value("dark", False, type=bool))
        self.resize(1400, 900)
        self._update_title()

    # --- layout --------------------------------------------------------------------------
    def _canvas_area(self) -> QWidget:
        """The canvas, under the bar that shows which network is open."""
        area = QWidget()
        column = QVBoxLayout(area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.breadcrumb)
        column.addWidget(self.view, 1)
        return area

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.palette_dock = self._dock("Blocks", self.palette, left)
        self.inspector_dock = self._dock("Inspector", self.inspector, right)
        self.groups_dock = self._dock("Groups", self.groups, right)
        self.diagnostics_dock = self._dock("Problems", self.diagnostics,
                                           Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.inspector_dock, self.groups_dock, Qt.Orientation.Vertical)
        # The side docks run the full height; the problems list sits under the canvas only.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._restored = False  # True once restore_layout brought back the user's layout
        QTimer.singleShot(0, self._size_docks)  # once the window has its size

    def _size_docks(self) -> None:
        if self._restored:
            return
        self.resizeDocks([self.palette_dock, self.inspector_dock],
                         [self.palette.sizeHint().width(), 310],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.diagnostics_dock], [110], Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock, self.groups_dock], [420, 480],
                         Qt.Orientation.Vertical)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.view and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._place_minimap()
        return super().eventFilter(watched, event)

    def _place_minimap(self) -> None:
        """The minimap floats in the canvas's bottom-right corner."""
        size = self.minimap.sizeHint()
        margin = 12
        self.minimap.setGeometry(self.view.width() - size.width() - margin,
                                 self.view.height() - size.height() - margin,
                                 size.width(), size.height())
        self.minimap.raise_()

    def _build_status_bar(self) -> None:
        self.summary_label = QLabel()
        self.summary_label.setObjectName("status_summary")
        self.statusBar().addPermanentWidget(self.summary_label)

    def _connect(self) -> None:
        doc = self.document
        doc.message.connect(self.show_message)
        doc.dirty_changed.connect(self._update_title)
        doc.path_changed.connect(self._update_title)
        doc.graph_replaced.connect(self._graph_replaced)
        doc.level_changed.connect(lambda: QTimer.singleShot(0, self.view.fit_all))
        doc.analysed.connect(self._update_summary)
        doc.read_only_changed.connect(self._read_only_changed)
        self.scene.node_selection_changed.connect(self.inspector.show_nodes)
        self.scene.node_selection_changed.connect(self.groups.set_selection)
        self.palette.add_requested.connect(self.add_from_palette)
        for signal in (doc.graph_replaced, doc.networks_changed, doc.library_changed):
            signal.connect(self._list_networks)
        self._list_networks()

    # --- reactions -----------------------------------------------------------------------
    def _update_title(self, *_: object) -> None:
        star = "*" if self.document.dirty else ""
        self.setWindowTitle(f"{self.document.title}{star} \u2014 {APP_NAME}")

    def _graph_replaced(self) -> None:
        self._update_title()
        if self.document.graph.nodes:
            self.view.setFocus()  # an opened graph is edited on the canvas
        else:  # an empty one starts with a block: type its name (and values), Enter
            self.palette.search.setFocus()
        QTimer.singleShot(0, self.view.fit_all)

    def _update_summary(self) -> None:
        doc = self.document
        diags = doc.diagnostics
        errors = sum(d.severity == "error" for d in diags)
        warnings = sum(d.severity == "warning" for d in diags)
        params = sum(doc.analysis.shapes.param_counts.values()) if doc.analysis else 0
        g = doc.graph
        self.summary_label.setText(" · ".join([
            _count(len(g.nodes), "node"), _count(len(g.edges), "edge"),
            _count(len(g.groups), "group"), _count(params, "parameter"),
            _count(errors, "error"), _count(warnings, "warning")]))

    def _read_only_changed(self, read_only: bool) -> None:
        for panel in (self.palette, self.inspector, self.groups):
            panel.setEnabled(not read_only)
        for name in menus.EDITING_ACTIONS:
            self.actions[name].setEnabled(not read_only)
        stack = self.document.undo_stack
        self.actions["undo"].setEnabled(not read_only and stack.canUndo())
        self.actions["redo"].setEnabled(not read_only and stack.canRedo())
        if read_only:
            self.show_message("Training: the graph is read-only")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    def add_at_centre(self, type_id: str, params: dict | None = None) -> str | None:
        """Adds a node of the type at the middle of the visible canvas."""
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return self.view.add_node_at(type_id, centre, params)

    def add_from_palette(self, type_id: str, typed: str = "") -> str | None:
        """Adds a palette entry, with the values typed after its name: wired after the
        selected node when one is, else at the middle of the canvas. A value that does not
        fit is refused with the reason, and what was typed stays to be corrected."""
        try:
            t = self.document.level.type_of(type_id)
            params = typed_add.params_for(t, typed_add.parse(typed)) if typed and t else {}
            selected = self.scene.selected_node_ids()
            if len(selected) == 1:
                new = self.document.add_after(selected[0], type_id, params)
                self.scene.select_nodes([new] if new else [])
                self.view.follow([new] if new else [])  # the canvas follows a growing chain
            else:
                new = self.add_at_centre(type_id, params)
        except ComposerError as e:
            self.show_message(str(e))
            return None
        if new and typed:
            self.palette.search.clear()  # ready for the next block of the chain
        return new

    def _list_networks(self) -> None:
        graph = self.document.graph
        self.palette.set_networks(
            [(name, n.description.split("\n", 1)[0] or levels.inside_summary(n))
             for name, n in graph.networks.items()], self.document.library.names())

    def set_dark(self, dark: bool) -> None:
        theme.set_dark(dark)
        theme.apply_to_application(dark)
        self.settings.setValue("dark", dark)
        if "dark" in getattr(self, "actions", {}):
            self.actions["dark"].setChecked(dark)
        self.scene.apply_theme()
        self.view.resetCachedContent()
        self.view.viewport().update()
        self.minimap.update()

    def fit(self) -> None:
        """Frames the selection, or the whole graph when nothing is selected."""
        ids = self.scene.selected_node_ids()
        if ids:
            self.view.center_on(ids)
        else:
            self.view.fit_all()

    def check_now(self) -> None:
        self.document.analyse_now()
        self.diagnostics_dock.raise_()
        self.show_message(self.diagnostics.summary.text())

    # --- files ---------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> bool:
        return self.files.open(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        event.ignore()  # until the user has decided: an error on the way keeps the window open
        if not self.files.maybe_save():
            return
        try:
            self.training_panel.shutdown()
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState())
        finally:
            event.accept()

    def restore_layout(self) -> None:
        """The size, place and docks the user left the window with last time."""
        geometry = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._restored = self.restoreState(state)

    # --- errors --------------------------------------------------------------------------
    def report_exception(self, exc_type, exc, tb) -> None:
        """Shows an unexpected error without closing the window; logs the traceback."""
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error\n%s", text)
        self.show_message(f"Error: {exc_type.__name__}: {exc}")
        box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                          f"{exc_type.__name__}: {exc}\n\nThe window stays open; the details "
                          "below are also in the log.", parent=self)
        box.setDetailedText(text)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
