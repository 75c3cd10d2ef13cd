"""The settings of one optimiser group, generated from composer.optim's declarations.

Every field commits through Document.update_group, which validates exactly as loading a file
would; a refused value shows its reason under the field.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.errors import GraphFormatError
from composer.fileformat.validate import CLIP_GRAD_NORM as CLIP
from composer.optim import LR_SCHEDULES, OPTIMIZERS
from composer.params import Param
from composer.schedules import END_EPOCH, FIRST_EPOCH
from composer.schedules import SETTINGS as SCHEDULE
from gui.document import Document
from gui.param_widgets import ParamEditor, form_label


class TypedBox(QGroupBox):
    """A `type` combo and the arguments that type declares (optimiser, LR schedule)."""

    def __init__(self, title: str, field: str, table: dict[str, tuple[Param, ...]]) -> None:
        super().__init__(title)
        self.table = table
        self.kind: str | None = None  # the type whose argument rows are shown
        self.form = QFormLayout(self)
        self.combo = QComboBox()
        self.combo.setObjectName(f"{field}_type")
        self.combo.addItems(list(table))
        self.form.addRow("type", self.combo)


class GroupEditor(QWidget):
    """Edits the group `group_id`; call `sync()` after the group changed elsewhere."""

    def __init__(self, document: Document, group_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.document, self.group_id = document, group_id
        self.editors: dict[str, ParamEditor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.color_button = QPushButton("colour")
        self.color_button.clicked.connect(self._choose_color)
        self.members_label = QLabel()
        self.members_label.setWordWrap(True)
        layout.addWidget(self.color_button)
        layout.addWidget(self.members_label)
        self.optimizer_box = self._typed_box("optimizer", OPTIMIZERS)
        self.schedule_box = self._schedule_box()
        self.lr_box = self._typed_box("lr_schedule", LR_SCHEDULES)
        self.losses_list = QListWidget()
        self.losses_list.setObjectName("group_losses")
        self.losses_list.setMaximumHeight(110)
        self.losses_list.itemChanged.connect(self._loss_toggled)
        losses_box = QGroupBox("losses minimised")
        QVBoxLayout(losses_box).addWidget(self.losses_list)
        for box in (self.optimizer_box, self.schedule_box, self.lr_box, losses_box):
            layout.addWidget(box)
        self.sync()

    @property
    def group(self):
        return self.document.graph.group(self.group_id)

    # --- building ------------------------------------------------------------------------
    def _typed_box(self, field: str, table: dict[str, tuple[Param, ...]]) -> TypedBox:
        box = TypedBox("optimiser" if field == "optimizer" else "learning-rate schedule",
                       field, table)
        box.combo.currentTextChanged.connect(lambda kind: self._set_type(field, table, kind))
        return box

    def _fill_typed(self, box: TypedBox, field: str, settings: dict[str, Any]) -> None:
        """Shows an optimiser or LR schedule; its argument rows are rebuilt on a new type."""
        kind = settings["type"]
        box.combo.blockSignals(True)
        box.combo.setCurrentText(kind)
        box.combo.blockSignals(False)
        if box.kind == kind:
            for decl in box.table[kind]:
                self.editors[f"{field}.{decl.name}"].set_value(settings.get(decl.name,
                                                                            decl.default))
            return
        box.kind = kind
        while box.form.rowCount() > 1:
            box.form.removeRow(1)
        for key in [k for k in self.editors if k.startswith(field + ".")]:
            del self.editors[key]
        for decl in box.table[kind]:
            editor = ParamEditor(decl, settings.get(decl.name, decl.default),
                                 lambda v, f=field, n=decl.name: self._set_arg(f, n, v))
            self.editors[f"{field}.{decl.name}"] = editor
            box.form.addRow(form_label(decl), editor)

    def _schedule_box(self) -> QGroupBox:
        box = QGroupBox("schedule")
        form = QFormLayout(box)
        for decl in (*SCHEDULE, FIRST_EPOCH, END_EPOCH, CLIP):
            editor = ParamEditor(decl, decl.default,
                                 lambda v, n=decl.name: self._set_schedule(n, v))
            self.editors[decl.name] = editor
            form.addRow(form_label(decl), editor)
        return box

    # --- showing the model ---------------------------------------------------------------
    def sync(self) -> None:
        group = self.group
        if group is None:
            return
        color = group.ui.get("color", "#888888")
        self.color_button.setStyleSheet(f"background: {color}; color: white;")
        self.color_button.setText(f"colour {color}")
        members = ", ".join(group.members) or "none: add nodes from the canvas selection"
        self.members_label.setText(f"<b>members</b>: {html.escape(members)}")
        self._fill_typed(self.optimizer_box, "optimizer", group.optimizer)
        self._fill_typed(self.lr_box, "lr_schedule", group.lr_schedule)
        for decl in SCHEDULE:
            self.editors[decl.name].set_value(group.schedule.get(decl.name, decl.default))
        first, end = group.schedule.get("epochs", [0, None])
        self.editors["first_epoch"].set_value(first)
        self.editors["end_epoch"].set_value(end)
        self.editors["clip_grad_norm"].set_value(group.clip_grad_norm)
        self._fill_losses()

    def _fill_losses(self) -> None:
        """One checkable row per loss node. Rows are updated in place, never deleted while
        a toggle of theirs is being handled."""
        graph, group = self.document.graph, self.group
        losses = [n.id for n in graph.nodes.values()
                  if graph.type_of(n) is not None and graph.type_of(n).is_loss]
        rows = [self.losses_list.item(i) for i in range(self.losses_list.count())]
        self.losses_list.blockSignals(True)
        if [r.data(Qt.ItemDataRole.UserRole) for r in rows] != losses:
            self.losses_list.clear()
            for node_id in losses:
                item = QListWidgetItem(node_id, self.losses_list)
                item.setData(Qt.ItemDataRole.UserRole, node_id)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            rows = [self.losses_list.item(i) for i in range(self.losses_list.count())]
        for item, node_id in zip(rows, losses, strict=True):
            owner = next((g.id for g in graph.groups if node_id in g.losses), None)
            item.setText(node_id if owner in (None, group.id) else f"{node_id}  (in {owner})")
            checked = node_id in group.losses
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.losses_list.blockSignals(False)

    # --- edits ---------------------------------------------------------------------------
    def _update(self, editor_key: str | None, **fields: Any) -> None:
        try:
            self.document.update_group(self.group_id, **fields)
        except GraphFormatError as e:
            if editor_key in self.editors:
                self.editors[editor_key].set_error(e.detail)
            else:
                self.document.message.emit(str(e))

    def _set_type(self, field: str, table: dict[str, tuple[Param, ...]], kind: str) -> None:
        old = getattr(self.group, field)
        kept = {d.name: old[d.name] for d in table[kind] if d.name in old}
        self._update(None, **{field: {"type": kind, **kept}})

    def _set_arg(self, field: str, name: str, value: Any) -> None:
        settings = dict(getattr(self.group, field))
        if value is None:
            settings.pop(name, None)
        else:
            settings[name] = value
        self._update(f"{field}.{name}", **{field: settings})

    def _set_schedule(self, name: str, value: Any) -> None:
        group = self.group
        if name == "clip_grad_norm":
            self._update(name, clip_grad_norm=value)
            return
        schedule = dict(group.schedule)
        epochs = list(schedule.get("epochs", [0, None]))
        if name == "first_epoch":
            epochs[0] = value
        elif name == "end_epoch":
            epochs[1] = value
        else:
            schedule[name] = value
        schedule["epochs"] = epochs
        self._update(name, schedule=schedule)

    def _loss_toggled(self, item: QListWidgetItem) -> None:
        node_id = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.document.add_to_group(self.group_id, [node_id])
        else:
            self.document.remove_from_group(self.group_id, [node_id])

    def _choose_color(self) -> None:
        current = QColor(self.group.ui.get("color", "#888888"))
        color = QColorDialog.getColor(current, self, f"Colour of {self.group_id}")
        if color.isValid():
            self._update(None, ui={**self.group.ui, "color": color.name()})
