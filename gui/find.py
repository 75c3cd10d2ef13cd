"""Find a node by id or label (Ctrl+F): completes as you type, Enter selects and centres it."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from composer.graph import Graph
from gui.document import Document


def find_nodes(graph: Graph, text: str) -> list[str]:
    """Exact id or label first, then ids and labels containing the text (case-insensitive)."""
    needle = text.strip().lower()
    if not needle:
        return []
    exact = [n.id for n in graph.nodes.values()
             if needle in (n.id.lower(), (n.label or "").lower())]
    if exact:
        return exact
    return [n.id for n in graph.nodes.values()
            if needle in n.id.lower() or needle in (n.label or "").lower()]


class FindBox(QLineEdit):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setObjectName("find_box")
        self.setPlaceholderText("Find node (Ctrl+F)")
        self.setClearButtonEnabled(True)
        self.setMaximumWidth(240)
        self.model = QStringListModel(self)
        completer = QCompleter(self.model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        self.returnPressed.connect(self.find)
        document.analysed.connect(self._refresh_names)
        document.graph_replaced.connect(self._refresh_names)
        document.level_changed.connect(self._refresh_names)

    def _refresh_names(self) -> None:
        names = []
        for n in self.document.level.nodes.values():
            names.append(n.id)
            if n.label and n.label != n.id:
                names.append(n.label)
        self.model.setStringList(names)

    def find(self) -> list[str]:
        """Selects the matching nodes; says so in the status bar when none matches."""
        found = find_nodes(self.document.level, self.text())
        if found:
            self.document.select_requested.emit(found)
            self.document.message.emit(f"found {len(found)}: {', '.join(found[:6])}")
        else:
            self.document.message.emit(f"no node with id or label {self.text().strip()!r}")
        return found
