"""The bar above the canvas while a network is open: where you are, and the way back.

`GAN digits › Discriminator`: each name before the last is a button back to that level. On
the right, which instance's shapes the inside shows, to be picked when there are several.
Hidden on the top level, where there is nowhere to go back to.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from gui import levels
from gui.document import Document

SEPARATOR = "\u203a"


class Breadcrumb(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setObjectName("breadcrumb")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(8, 3, 8, 3)
        self.crumbs: list[QPushButton] = []
        self.instances = QComboBox()
        self.instances.setObjectName("breadcrumb_instances")
        self.instances.setToolTip("the instance whose shapes are shown inside the network")
        self.instances.activated.connect(self._instance_chosen)
        document.level_changed.connect(self.refresh)
        document.graph_replaced.connect(self.refresh)
        document.analysed.connect(self._refresh_instances)
        self.refresh()

    def refresh(self) -> None:
        """Rebuilds the trail of names for the level the document shows."""
        while self.row.count():
            widget = self.row.takeAt(0).widget()
            if widget is not None and widget is not self.instances:
                widget.setParent(None)  # gone from the bar now, deleted when Qt is idle
                widget.deleteLater()
        doc = self.document
        names = [doc.graph.name or "graph", *(step.network for step in doc.trail)]
        self.crumbs = []
        for depth, name in enumerate(names):
            if depth:
                self.row.addWidget(QLabel(SEPARATOR))
            if depth == len(names) - 1:
                here = QLabel(f"<b>{name}</b>")
                here.setObjectName("breadcrumb_here")
                self.row.addWidget(here)
                continue
            button = QPushButton(name)
            button.setObjectName(f"breadcrumb_{depth}")
            button.setFlat(True)
            button.setToolTip("back to this level (Escape goes up one)")
            button.clicked.connect(lambda _=False, d=depth: doc.go_to_depth(d))
            self.row.addWidget(button)
            self.crumbs.append(button)
        self.row.addStretch(1)
        self.row.addWidget(QLabel("shapes of"))
        self.row.addWidget(self.instances)
        self._refresh_instances()
        self.setVisible(bool(doc.trail))

    def _refresh_instances(self) -> None:
        doc = self.document
        paths = (levels.instances_of(doc.analysis.flat, doc.trail[-1].network)
                 if doc.trail and doc.analysis else [])
        shown = doc.instance_path()
        self.instances.blockSignals(True)
        if [self.instances.itemText(i) for i in range(self.instances.count())] != paths:
            self.instances.clear()
            self.instances.addItems(paths)
        self.instances.setCurrentIndex(paths.index(shown) if shown in paths else -1)
        self.instances.setEnabled(len(paths) > 1)
        self.instances.blockSignals(False)

    def _instance_chosen(self, index: int) -> None:
        self.document.show_instance(self.instances.itemText(index))
