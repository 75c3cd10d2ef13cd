"""The live list of the graph's problems. Clicking one selects its node(s) on the canvas.

Errors come first, then warnings, then hints. While a chain is being built, each of its nodes
"reaches no loss": those warnings are collapsed into one line per unfinished chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.analysis.diagnostics import Diagnostic
from composer.graph import Graph
from gui import levels, theme
from gui.document import Document

GLYPHS = {"error": "!", "warning": "!", "hint": "i"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "hint": 2}
ARROW = " \u2192 "
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


@dataclass
class Row:
    """One line of the list: a diagnostic, or a summary of several."""

    severity: str
    where: str
    message: str
    targets: list[str]  # the nodes (or the group) a click selects
    tooltip: str = ""


def _chains(graph: Graph, ids: list[str]) -> list[list[str]]:
    """The given nodes split into runs connected by wires among them, in file order."""
    chosen = set(ids)
    neighbours: dict[str, set[str]] = {n: set() for n in ids}
    for e in graph.edges:
        if e.src in chosen and e.dst in chosen:
            neighbours[e.src].add(e.dst)
            neighbours[e.dst].add(e.src)
    seen: set[str] = set()
    chains = []
    for start in ids:
        if start in seen:
            continue
        part, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n not in part:
                part.add(n)
                todo.extend(neighbours[n] - part)
        seen |= part
        chains.append([n for n in ids if n in part])
    return chains


def _name(graph: Graph, node_id: str) -> str:
    node = graph.nodes.get(node_id)
    return (node.label or node_id) if node is not None else node_id


def rows(graph: Graph, diagnostics: list[Diagnostic], warnings: bool = True) -> list[Row]:
    """The list's lines: errors, warnings, hints (each in the checker's order), the "reaches no
    loss" warnings of a chain of nodes as one line; no warnings when `warnings` is off."""
    no_loss = [d.node for d in diagnostics if d.severity == "warning"
               and d.code == Diagnostic.UNREACHED and d.node in graph.nodes]
    chains = [c for c in _chains(graph, [n for n in graph.nodes if n in set(no_loss)])
              if len(c) > 1]
    collapsed = {n for c in chains for n in c}
    found = []
    for d in diagnostics:
        if d.node in collapsed and d.code == Diagnostic.UNREACHED:
            continue
        found.append(Row(d.severity, place(d), d.message, [d.node] if d.node else [],
                         d.message))
    for chain in chains:
        names = [_name(graph, n) for n in chain]
        shown = names if len(names) <= 3 else [names[0], names[1], "\u2026", names[-1]]
        found.append(Row("warning", f"{len(chain)} nodes",
                         f"{len(chain)} nodes reach no loss: {ARROW.join(shown)} "
                         "(unfinished chain)", chain,
                         "Their outputs are never used in training: wire the chain towards "
                         f"a loss or delete it.\n{', '.join(chain)}"))
    found.sort(key=lambda r: SEVERITY_ORDER.get(r.severity, 3))
    return [r for r in found if warnings or r.severity != "warning"]


class DiagnosticsPanel(QWidget):
    """One row per diagnostic, refreshed on every analysis."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.summary = QLabel()
        self.summary.setObjectName("diagnostics_summary")
        self.show_warnings = QCheckBox("warnings")
        self.show_warnings.setObjectName("diagnostics_show_warnings")
        self.show_warnings.setToolTip("show warnings as well as errors and hints")
        self.show_warnings.setChecked(True)
        self.show_warnings.toggled.connect(self.refresh)
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
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_warnings)
        layout.addLayout(top)
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
        for row in rows(self.document.graph, diags, self.show_warnings.isChecked()):
            item = QTreeWidgetItem(self.tree, [row.where, row.message])
            item.setIcon(0, severity_icon(row.severity))
            item.setToolTip(1, row.tooltip)
            item.setData(0, Qt.ItemDataRole.UserRole, row.targets)
        errors = sum(d.severity == "error" for d in diags)
        warnings = sum(d.severity == "warning" for d in diags)
        hints = len(diags) - errors - warnings
        if not diags:
            self.summary.setText("No problems: the graph checks clean.")
        else:
            counts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in
                      ((errors, "error"), (warnings, "warning"), (hints, "hint"))]
            if warnings and not self.show_warnings.isChecked():
                counts[1] += " (hidden)"
            self.summary.setText(", ".join(counts))

    def _clicked(self, item: QTreeWidgetItem, column: int = 0) -> None:
        """Selects the row's nodes (a problem inside an instance: the instance, or the inner
        node when that instance is open), or the members of its group."""
        targets = item.data(0, Qt.ItemDataRole.UserRole) or []
        graph = self.document.graph
        if len(targets) == 1 and graph.group(targets[0]) is not None:
            group = graph.group(targets[0])
            self.document.reveal(group.members + group.losses)
        elif any(levels.owner(n, "") in graph.nodes for n in targets):
            self.document.reveal(targets)
