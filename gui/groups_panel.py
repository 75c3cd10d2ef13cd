"""The optimiser groups: a list with colour swatches and parameter counts, and an editor.

Groups are made from the canvas selection; the selected group's settings show below the list.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.document import Document
from gui.editing import group_param_count
from gui.group_editor import GroupEditor


def swatch(color: str) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(QColor(color))
    return QIcon(pix)


class GroupsPanel(QWidget):
    """Lists the graph's groups; creates them from, and fills them with, the selection."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.selection: list[str] = []
        self.editor: GroupEditor | None = None
        self.list = QListWidget()
        self.list.setObjectName("groups_list")
        self.list.setMaximumHeight(96)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemDoubleClicked.connect(self._select_members)
        self.new_button = QPushButton("New from selection")
        self.add_button = QPushButton("Add selected")
        self.remove_button = QPushButton("Remove selected")
        self.delete_button = QPushButton("Delete group")
        self.new_button.clicked.connect(self.create_from_selection)
        self.add_button.clicked.connect(self.add_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.delete_button.clicked.connect(self.delete_current)
        buttons = QGridLayout()
        buttons.addWidget(self.new_button, 0, 0)
        buttons.addWidget(self.delete_button, 0, 1)
        buttons.addWidget(self.add_button, 1, 0)
        buttons.addWidget(self.remove_button, 1, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.scroll, 1)
        document.graph_replaced.connect(self._on_graph_replaced)
        document.analysed.connect(self.refresh_list)
        self._subscribed = None
        self._show_editor(None)
        self._on_graph_replaced()

    # --- following the document ----------------------------------------------------------
    def _on_graph_replaced(self) -> None:
        if self._subscribed is not None:
            self._subscribed.events.unsub(self._on_event)
        self._subscribed = self.document.graph
        self._subscribed.events.sub(self._on_event)
        self.refresh_list()
        if self.list.count():
            self.list.setCurrentRow(0)  # a new graph opens with its first group's settings

    def _on_event(self, name: str, **payload: Any) -> None:
        if name.startswith("group"):
            self.refresh_list()
            if self.editor is not None:
                self.editor.sync()
        elif name in ("node_added", "node_removed") and self.editor is not None:
            self.editor.sync()

    def current_group(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def refresh_list(self) -> None:
        """Rebuilds the rows (colour, id, counts), keeping the current group."""
        graph, current = self.document.graph, self.current_group()
        counts = self.document.shapes.param_counts if self.document.shapes else {}
        self.list.blockSignals(True)
        self.list.clear()
        for g in graph.groups:
            n = group_param_count(g, counts, graph)
            item = QListWidgetItem(swatch(g.ui.get("color", "#888888")),
                                   f"{g.id}  \u00b7  {n:,} params", self.list)
            item.setToolTip(f"{g.id}: {n:,} parameters; members: "
                            f"{', '.join(g.members) or 'none'}; losses: "
                            f"{', '.join(g.losses) or 'none'}")
            item.setData(Qt.ItemDataRole.UserRole, g.id)
            if g.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.current_group() != (self.editor.group_id if self.editor else None):
            self._show_editor(self.current_group())
        self._update_buttons()

    def _current_changed(self, *_: Any) -> None:
        self._show_editor(self.current_group())
        self._update_buttons()

    def _show_editor(self, group_id: str | None) -> None:
        if group_id is None:
            self.editor = None
            hint = QLabel("Select a group to edit its optimiser, schedule and losses, or make "
                          "one from the nodes selected on the canvas.")
            hint.setWordWrap(True)
            hint.setAlignment(Qt.AlignmentFlag.AlignTop)
            self.scroll.setWidget(hint)
        else:
            self.editor = GroupEditor(self.document, group_id)
            self.scroll.setWidget(self.editor)

    def select_group(self, group_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == group_id:
                self.list.setCurrentRow(i)

    # --- the canvas selection ------------------------------------------------------------
    def set_selection(self, node_ids: list[str]) -> None:
        self.selection = list(node_ids)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_group = self.current_group() is not None
        self.new_button.setEnabled(bool(self.selection))
        self.add_button.setEnabled(bool(self.selection) and has_group)
        self.remove_button.setEnabled(bool(self.selection) and has_group)
        self.delete_button.setEnabled(has_group)

    def create_from_selection(self) -> None:
        group_id = self.document.add_group(self.selection)
        if group_id:
            self.select_group(group_id)

    def add_selected(self) -> None:
        if self.current_group():
            self.document.add_to_group(self.current_group(), self.selection)

    def remove_selected(self) -> None:
        if self.current_group():
            self.document.remove_from_group(self.current_group(), self.selection)

    def delete_current(self) -> None:
        if self.current_group():
            self.document.remove_group(self.current_group())

    def _select_members(self, item: QListWidgetItem) -> None:
        group = self.document.graph.group(item.data(Qt.ItemDataRole.UserRole))
        if group is not None:
            self.document.select_requested.emit(group.members + group.losses)
