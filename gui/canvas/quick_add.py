"""The quick-add search at the cursor: type a few letters, Enter, and the node is there.

Every word typed must appear in the type's id or its one-line doc; types whose short name
starts with the first word come first. Up and Down move through the list without leaving the
search box, Escape closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer import catalogue
from composer.catalogue import kinds
from composer.errors import ParamError
from gui import analysis, theme, typed_add
from gui.canvas.metrics import BODY_TOP, HEADER_H, NODE_WIDTH, PORT_ROW_H

TYPE_ROLE = Qt.ItemDataRole.UserRole
_ICONS: dict[str, QIcon] = {}


def _icon(category: str) -> QIcon:
    """A dot in the category's header colour, drawn once per category."""
    if category not in _ICONS:
        pixmap = QPixmap(12, 12)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.category_color(category))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        _ICONS[category] = QIcon(pixmap)
    return _ICONS[category]


def types_for_wire(kind: str, from_output: bool) -> set[str]:
    """Types with a port that could take a wire of `kind` dragged from an output (or, with
    `from_output` False, that could feed an input of `kind`)."""
    found = set()
    for t in catalogue.all_types():
        if from_output:
            ports = t.input_ports(t.defaults())
            ok = any(kinds.accepts(p.kind, kind) for p in ports)
        else:
            ok = any(kinds.accepts(kind, p.kind) for p in t.output_ports(t.defaults()))
        if ok:
            found.add(t.id)
    return found


def matching_types(text: str, only: set[str] | None = None) -> list[str]:
    """Type ids matching every word of `text` (values typed after them set parameters, see
    gui.typed_add), best first (catalogue order breaks ties)."""
    words = typed_add.parse(text).words
    ranked = []
    for index, t in enumerate(catalogue.all_types()):
        if only is not None and t.id not in only:
            continue
        haystack = f"{t.id} {t.summary}".lower()
        if all(w in haystack for w in words):
            ranked.append((typed_add.rank(words, t.id, t.id.split(".", 1)[-1]), index, t.id))
    return [type_id for _, _, type_id in sorted(ranked)]


class QuickAdd(QFrame):
    """A popup: a search box over a list of node types. `on_choose(type_id, params)` adds
    it, with the values typed after its name (`linear 256`)."""

    def __init__(self, parent: QWidget, on_choose: Callable[[str, dict], object],
                 only: set[str] | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.on_choose = on_choose
        self.only = only
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a node\u2026")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ERROR_COLOR.name()};")
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.error)
        layout.addWidget(self.list)
        self.resize(340, 300)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self.choose)
        self.list.itemActivated.connect(lambda _: self.choose())
        self.search.installEventFilter(self)
        self.filter("")

    def filter(self, text: str) -> None:
        self.list.clear()
        for type_id in matching_types(text, self.only):
            t = catalogue.get(type_id)
            item = QListWidgetItem(_icon(t.category), f"{type_id}    {t.summary}")
            item.setData(TYPE_ROLE, type_id)
            item.setToolTip(t.doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def visible_type_ids(self) -> list[str]:
        return [self.list.item(i).data(TYPE_ROLE) for i in range(self.list.count())]

    def choose(self) -> str | None:
        """Adds the current type with the values typed; a value that does not fit is shown
        and the popup stays open to correct it."""
        item = self.list.currentItem()
        if item is None:
            self.close()
            return None
        type_id = item.data(TYPE_ROLE)
        try:
            params = typed_add.params_for(catalogue.get(type_id),
                                          typed_add.parse(self.search.text()))
        except ParamError as e:
            self.error.setText(str(e))
            self.error.show()
            return None
        self.close()
        self.on_choose(type_id, params)
        return type_id

    def popup(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(event.key())
            if step and self.list.count():
                row = (self.list.currentRow() + step) % self.list.count()
                self.list.setCurrentRow(row)
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.close()
                return True
        return super().eventFilter(watched, event)


def add_wired(view, type_id: str, scene_pos: QPointF, port, params: dict) -> str | None:
    """Adds a node whose first fitting port sits at `scene_pos`, wired to `port`, in one
    undo step; selects it."""
    doc = view.document
    row = HEADER_H + BODY_TOP + PORT_ROW_H / 2
    x = scene_pos.x() - (0.0 if port.output else NODE_WIDTH)
    doc.undo_stack.beginMacro(f"Add {type_id} wired to {port.node_id}.{port.name}")
    try:
        node_id = doc.add_node(type_id, (x, scene_pos.y() - row), params)
        if node_id:
            t = catalogue.get(type_id)
            node = doc.level.nodes[node_id]
            params = node.resolved_params()
            names = [p.name for p in (t.input_ports(params) if port.output
                                      else t.output_ports(params))]
            for name in names:
                ends = ((port.node_id, port.name, node_id, name) if port.output
                        else (node_id, name, port.node_id, port.name))
                if analysis.connection_problem(doc.level, doc.shapes, *ends) is None:
                    doc.connect(*ends)
                    break
    finally:
        doc.undo_stack.endMacro()
    if node_id:
        view.scene().select_nodes([node_id])
    return node_id
