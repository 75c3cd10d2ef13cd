"""The live list of the graph's problems. Clicking one selects its node on the canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.diagnostics import Diagnostic
from gui import theme
from gui.document import Document

GLYPHS = {"error": "!", "warning": "!", "hint": "i"}
_icons: dict[str, QIcon] = {}


def severity_icon(severity: str) -> QIcon:
    """A filled circle in the severity's colour, as the badges on the nodes."""
    if severity not in _icons:
        pix = QPixmap(16, 16)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(theme.severity_color(severity))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(1, 1, 14, 14)
        font = QFont()
        font.setPixelSize(11)
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor("white"))
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, GLYPHS.get(severity, "?"))
        p.end()
        _icons[severity] = QIcon(pix)
    return _icons[severity]


def place(d: Diagnostic) -> str:
    text = d.node or "graph"
    if d.port:
        text += f".{d.port}"
    elif d.param:
        text += f".{d.param}"
    return text


class DiagnosticsPanel(QWidget):
    """One row per diagnostic, refreshed on every analysis."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.summary = QLabel()
        self.summary.setObjectName("diagnostics_summary")
        self.tree = QTreeWidget()
        self.tree.setObjectName("diagnostics_list")
        self.tree.setHeaderLabels(["where", "problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)
        document.analysed.connect(self.refresh)
        document.graph_replaced.connect(self._pending)
        self._pending()

    def _pending(self) -> None:
        self.tree.clear()
        self.summary.setText("checking…")

    def refresh(self) -> None:
        diags = self.document.diagnostics
        self.tree.clear()
        for d in diags:
            item = QTreeWidgetItem(self.tree, [place(d), d.message])
            item.setIcon(0, severity_icon(d.severity))
            item.setToolTip(1, d.message)
            item.setData(0, Qt.ItemDataRole.UserRole, d.node)
        errors = sum(d.severity == "error" for d in diags)
        warnings = sum(d.severity == "warning" for d in diags)
        hints = len(diags) - errors - warnings
        if not diags:
            self.summary.setText("No problems: the graph checks clean.")
        else:
            self.summary.setText(", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in
                                           ((errors, "error"), (warnings, "warning"),
                                            (hints, "hint"))))

    def _clicked(self, item: QTreeWidgetItem, column: int = 0) -> None:
        target = item.data(0, Qt.ItemDataRole.UserRole)
        graph = self.document.graph
        if target in graph.nodes:
            self.document.select_requested.emit([target])
        elif graph.group(target) is not None:
            group = graph.group(target)
            self.document.select_requested.emit(group.members + group.losses)
