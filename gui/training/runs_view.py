"""The runs of the open graph, beside its curves: newest first, each with its status and one
figure of its result. Selected runs can be overlaid on the curves (the panel draws them), two
compared (their graphs' differences and final metrics), one restored as the open graph (one
undoable edit).

A saved graph's runs are the folders in `runs/<its name>/` beside its file, whoever made them
(the window, `composer train`). An unsaved graph's runs go to a folder in the system's
temporary folder, listed for the session (the files stay there); once the graph is saved, its
own runs folder is listed instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ComposerError
from composer.run_compare import compare, duration_text, key_metric
from composer.runs import Run, list_runs, new_run_folder, runs_root
from gui import theme


class RunsView(QWidget):
    overlay_changed = Signal()  # the runs to draw behind the curves changed
    message = Signal(str, bool)  # a line for the panel to show; True when it is an error

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_view")
        self.document = document
        self.runs: list[Run] = []
        self.skipped: list[tuple[Path, str]] = []
        self.compare_dialog = None
        self._session_root: Path | None = None  # an unsaved graph's runs
        self._histories: dict[tuple[Path, str, int], tuple[Any, Any]] = {}
        self._idle = True
        self.title = QLabel(objectName="runs_title", wordWrap=True)
        self.tree = QTreeWidget(objectName="runs_list", rootIsDecorated=False,
                                uniformRowHeights=True)
        self.tree.setHeaderLabels(["Run", "Status", "Result"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(True)  # the result gives way: ids stay whole
        for column in (0, 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.overlay = QCheckBox("Overlay", objectName="runs_overlay",
                                 toolTip="draw the selected runs behind the curves, faint and "
                                 "dashed")
        self.overlay.toggled.connect(lambda _: self.overlay_changed.emit())
        self.compare_button = QPushButton("Compare", objectName="runs_compare",
                                          toolTip="what differs between two selected runs' "
                                          "graphs, and their final metrics")
        self.compare_button.clicked.connect(self.compare_selected)
        self.restore_button = QPushButton("Restore", objectName="runs_restore",
                                          toolTip="make the selected run's graph the open "
                                          "graph (undo brings this one back)")
        self.restore_button.clicked.connect(self.restore_selected)
        self.refresh_button = QPushButton("Refresh", objectName="runs_refresh",
                                          toolTip="read the runs folder again (runs made "
                                          "by composer train while the window is open)")
        self.refresh_button.clicked.connect(self.refresh)
        self.skipped_label = QLabel(objectName="runs_skipped")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for widget in (self.overlay, self.compare_button, self.restore_button,
                       self.refresh_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.skipped_label)
        document.path_changed.connect(lambda _: self.refresh())
        self.refresh()

    # --- where the runs are --------------------------------------------------------------
    def root(self) -> Path | None:
        """The open graph's runs folder; while it has no file, the session's temporary one
        (None until a run needs it)."""
        if self.document.path is not None:
            return runs_root(self.document.path)
        return self._session_root

    def writable_root(self) -> Path:
        """root(), the session's temporary folder made now if the graph has no file."""
        if self.root() is None:
            self._session_root = Path(tempfile.mkdtemp(prefix="composer-runs-"))
        return self.root()

    def new_folder(self) -> Path:
        """A new run's folder, created now."""
        return new_run_folder(self.writable_root())

    # --- the list ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reads the runs folder again, keeping the selection."""
        chosen = {r.id for r in self.selected_runs()}
        root = self.root()
        self.runs, self.skipped = list_runs(root) if root is not None else ([], [])
        path = self.document.path
        self.title.setText(f"Runs of {path.name}" if path is not None
                           else "Runs this session (save the graph to keep them beside it)")
        self.tree.blockSignals(True)
        self.tree.clear()
        for run in self.runs:
            item = QTreeWidgetItem(self.tree, [_run_text(run), run.record.status,
                                               key_metric(run.record)])
            item.setData(0, Qt.ItemDataRole.UserRole, run.id)
            item.setToolTip(0, _details(run))
            if run.record.status == "failed":
                item.setForeground(1, QBrush(theme.ERROR_COLOR))
                item.setToolTip(1, (run.record.error or {}).get("message", ""))
            item.setSelected(run.id in chosen)
        self.tree.blockSignals(False)
        self.skipped_label.setVisible(bool(self.skipped))
        self.skipped_label.setText(f"{len(self.skipped)} folder{'s' * (len(self.skipped) != 1)}"
                                   " there are not runs (hover for why)")
        self.skipped_label.setToolTip("\n".join(f"{f.name}: {why}" for f, why in self.skipped))
        self._selection_changed()

    def selected_runs(self) -> list[Run]:
        """The selected runs, newest first."""
        ids = {item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems()}
        return [r for r in self.runs if r.id in ids]

    def select(self, ids: list[str]) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) in ids)

    def set_idle(self, idle: bool) -> None:
        """A graph being trained is read-only: no restore until the run ends."""
        self._idle = idle
        self._selection_changed()

    def _selection_changed(self) -> None:
        chosen = self.selected_runs()
        self.compare_button.setEnabled(len(chosen) == 2)
        self.restore_button.setEnabled(len(chosen) == 1 and self._idle)
        if self.overlay.isChecked():
            self.overlay_changed.emit()

    # --- overlay, compare, restore ---------------------------------------------------------
    def overlaid(self) -> list[tuple[Run, Any, Any]]:
        """(run, its RunHistory, its graph or None) of each run to draw; [] unless Overlay is
        ticked. Read from the files once per run state."""
        from gui.training.run_overlay import history_of

        if not self.overlay.isChecked():
            return []
        shown = []
        for run in self.selected_runs():
            key = (run.folder, run.record.status, run.record.steps)
            if key not in self._histories:
                try:
                    graph = run.graph()
                except ComposerError:
                    graph = None  # drawn in grey: its graph.json no longer reads
                self._histories[key] = (history_of(run), graph)
            shown.append((run, *self._histories[key]))
        return shown

    def compare_selected(self) -> None:
        from gui.training.compare_dialog import CompareDialog

        chosen = self.selected_runs()
        if len(chosen) != 2:
            return
        newer, older = chosen
        try:
            comparison = compare(older, newer)
        except ComposerError as e:
            self.message.emit(f"Cannot compare: {e}", True)
            return
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog = CompareDialog(comparison, self.window())
        self.compare_dialog.show()

    def restore_selected(self) -> None:
        chosen = self.selected_runs()
        if len(chosen) != 1:
            return
        run = chosen[0]
        try:
            graph = run.graph()
        except ComposerError as e:
            self.message.emit(f"Cannot restore run {run.id}: {e}", True)
            return
        self.document.replace_contents(graph, f"Restore run {run.id}")
        self.message.emit(f"Restored the graph of run {run.id} (Undo brings the previous one "
                          "back)", False)


def _run_text(run: Run) -> str:
    return run.id + (f" \u00b7 {run.record.label}" if run.record.label else "")


def _details(run: Run) -> str:
    r = run.record
    device = (r.device or "?") + (f" \u00d7 {r.processes}" if r.processes > 1 else "")
    versions = ", ".join(f"{k} {v}" for k, v in r.versions.items())
    return (f"started {r.started}, {duration_text(r.duration_s)}, {r.steps} steps, seed "
            f"{r.seed}\non {device} ({r.device_name or 'unknown'}); {versions}\n{run.folder}")
