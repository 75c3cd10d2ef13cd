"""The optimiser groups: a list with colour swatches and parameter counts, and an editor.

Groups are made from the canvas selection; the selected group's settings show below the list.
A group's name is its id: typed when the group is made, renamed in place with F2 or a
double-click, each rename one undo step.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from composer.errors import GraphFormatError
from gui.document import Document
from gui.editing import group_param_count
from gui.group_editor import GroupEditor


def swatch(color: str) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(QColor(color))
    return QIcon(pix)


class _NameDelegate(QStyledItemDelegate):
    """Edits a row's group id (not its whole text, which also shows the parameter count);
    the rename goes through the Document once the editor has closed."""

    def __init__(self, panel: GroupsPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                     index: QModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        editor.setObjectName("group_name_edit")
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:  # noqa: N802
        if not editor.isModified():  # a refresh of the row keeps what the user typed
            editor.setText(index.data(Qt.ItemDataRole.UserRole))
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,  # noqa: N802
                     index: QModelIndex) -> None:
        old, new = index.data(Qt.ItemDataRole.UserRole), editor.text().strip()
        if new and new != old:  # the list is rebuilt by the rename: not while it closes
            QTimer.singleShot(0, self.panel, partial(self.panel.rename, old, new))


class GroupsPanel(QWidget):
    """Lists the graph's groups; creates them from, and fills them with, the selection."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.selection: list[str] = []
        self.editor: GroupEditor | None = None
        self._named_next: str | None = None  # a group just made, being named
        self.list = QListWidget()
        self.list.setObjectName("groups_list")
        self.list.setMaximumHeight(96)
        self.list.setItemDelegate(_NameDelegate(self))
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.currentItemChanged.connect(self._current_changed)
        self.name_error = QLabel()
        self.name_error.setObjectName("group_name_error")
        self.name_error.setWordWrap(True)
        self.name_error.setStyleSheet("color: #c62828;")
        self.name_error.hide()
        self.new_button = QPushButton("New from selection")
        self.add_button = QPushButton("Add selected")
        self.remove_button = QPushButton("Remove selected")
        self.delete_button = QPushButton("Delete group")
        self.select_button = QPushButton("Select its nodes")
        self.select_button.clicked.connect(self.select_members)
        self.new_button.clicked.connect(self.create_from_selection)
        self.add_button.clicked.connect(self.add_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.delete_button.clicked.connect(self.delete_current)
        buttons = QGridLayout()
        buttons.addWidget(self.new_button, 0, 0)
        buttons.addWidget(self.delete_button, 0, 1)
        buttons.addWidget(self.add_button, 1, 0)
        buttons.addWidget(self.remove_button, 1, 1)
        buttons.addWidget(self.select_button, 2, 0, 1, 2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addWidget(self.name_error)
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
        if name == "group_renamed":
            old, new = payload["old"], payload["group"].id
            if self.editor is not None and self.editor.group_id == old:
                self.editor.group_id = new
            self.refresh_list(new if self.current_group() == old else None)
        elif name.startswith("group"):
            self.refresh_list()
            if self.editor is not None:
                self.editor.sync()
        elif name in ("node_added", "node_removed") and self.editor is not None:
            self.editor.sync()

    def current_group(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def refresh_list(self, current: str | None = None) -> None:
        """Brings the rows (colour, id, counts) up to date, keeping the current group (or
        making `current` current). Rows are updated in place while the groups are the same,
        so a name being typed in one survives an analysis."""
        graph = self.document.graph
        current = current or self.current_group()
        result = self.document.analysis
        self.list.blockSignals(True)
        if [g.id for g in graph.groups] != [self.list.item(i).data(Qt.ItemDataRole.UserRole)
                                            for i in range(self.list.count())]:
            self.list.clear()
            for g in graph.groups:
                item = QListWidgetItem(self.list)
                item.setData(Qt.ItemDataRole.UserRole, g.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        for i, g in enumerate(graph.groups):
            item = self.list.item(i)
            n = group_param_count(g, result.shapes.param_counts, result.flat) if result else 0
            item.setIcon(swatch(g.ui.get("color", "#888888")))
            item.setText(f"{g.id}  \u00b7  {n:,} params")
            item.setToolTip(f"{g.id}: {n:,} parameters; members: "
                            f"{', '.join(g.members) or 'none'}; losses: "
                            f"{', '.join(g.losses) or 'none'}. F2 or double-click: rename")
            if g.id == current and self.list.currentItem() is not item:
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
        """The canvas selection; inside a network, as paths through the instance shown
        (`d_real/fc1`), which is how a group lists part of an instance."""
        prefix = self.document.prefix
        self.selection = [f"{prefix}{n}" for n in node_ids] if prefix is not None else []
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_group = self.current_group() is not None
        self.new_button.setEnabled(bool(self.selection))
        self.add_button.setEnabled(bool(self.selection) and has_group)
        self.remove_button.setEnabled(bool(self.selection) and has_group)
        self.delete_button.setEnabled(has_group)
        self.select_button.setEnabled(has_group)

    def create_from_selection(self) -> None:
        """A group of the selected nodes, its name field open to type a name; Enter there
        goes on to its learning rate."""
        group_id = self.document.add_group(self.selection)
        if group_id:
            self.select_group(group_id)
            self._named_next = group_id
            self.edit_name()

    def edit_name(self) -> None:
        """Opens the current group's name for typing (as F2 does)."""
        item = self.list.currentItem()
        if item is not None:
            self.list.setFocus()
            self.list.editItem(item)

    def rename(self, group_id: str, name: str) -> None:
        """Renames a group; a name that cannot be an id is refused with the reason shown.
        A group just made then has its learning rate ready to type: the setting most often
        changed next."""
        try:
            self.document.rename_group(group_id, name)
        except GraphFormatError as e:
            self.name_error.setText(e.detail)
            self.name_error.show()
            self.document.message.emit(str(e))
            return
        self.name_error.hide()
        if self._named_next == group_id and self.editor is not None:
            lr = self.editor.editors.get("optimizer.lr")
            if lr is not None:
                lr.field.setFocus(Qt.FocusReason.TabFocusReason)  # selected: typing replaces
        self._named_next = None

    def add_selected(self) -> None:
        if self.current_group():
            self.document.add_to_group(self.current_group(), self.selection)

    def remove_selected(self) -> None:
        if self.current_group():
            self.document.remove_from_group(self.current_group(), self.selection)

    def delete_current(self) -> None:
        if self.current_group():
            self.document.remove_group(self.current_group())

    def select_members(self) -> None:
        """Selects the current group's nodes on the canvas."""
        group = self.document.graph.group(self.current_group() or "")
        if group is not None:
            self.document.reveal(group.members + group.losses)
