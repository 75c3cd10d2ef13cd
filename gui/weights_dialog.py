""""Load weights…": a node or instance takes its starting weights from a state_dict file.

The dialog lists where each tensor goes (model tensor, shape, file tensor, shape, status) as the
prefix and the match are changed, and Apply sets the node's `weights` key as one undo step; it
stays disabled while anything does not fit, since a run would refuse the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ComposerError
from composer.fileformat.validate import WEIGHTS_MATCHES
from composer.weights import key_path, node_weights_source, nodes_with_weights

if TYPE_CHECKING:
    from composer.runtime.weights import WeightsMatch

COLUMNS = ("model tensor", "shape", "file tensor", "shape", "status")
FILES = "PyTorch weights (*.pth *.pt *.bin);;All files (*)"


def can_load_weights(document, node_id: str) -> bool:
    """Only top-level nodes and instances with weights of their own take a file."""
    return document.level is document.graph and node_id in nodes_with_weights(document.graph)


def load_weights(parent: QWidget, document, node_id: str) -> WeightsDialog | None:
    """Asks for the file, then opens the dialog (not blocking: it applies on its own)."""
    if not can_load_weights(document, node_id):
        QMessageBox.information(parent, "Load weights", f"{node_id} has no weights of its own "
                                "on the top level of the graph to load a file into")
        return None
    start = str(document.graph.base_dir)
    path, _ = QFileDialog.getOpenFileName(parent, f"Load weights into {node_id}", start, FILES)
    if not path:
        return None
    try:
        dialog = WeightsDialog(parent, document, node_id, path)
    except ComposerError as e:
        QMessageBox.warning(parent, "Cannot load weights", str(e))
        return None
    dialog.open()
    return dialog


def _prefix_guess(node_id: str, names: list[str]) -> str:
    """The prefix under which the file names this node (`layer1.0.` for layer1_0), if any."""
    for candidate in (node_id + ".", node_id.replace("_", ".") + "."):
        if any(n.startswith(candidate) for n in names):
            return candidate
    return ""


class WeightsDialog(QDialog):
    def __init__(self, parent: QWidget, document, node_id: str, path: str) -> None:
        super().__init__(parent)
        self.setObjectName("weights_dialog")
        self.document, self.node_id = document, node_id
        self.path = key_path(document.graph, path)
        self.module, self.tensors = node_weights_source(document.graph, node_id, path)
        self.setWindowTitle(f"Load weights into {node_id}")
        self.resize(980, 520)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("file", QLabel(self.path))
        self.prefix_edit = QLineEdit(_prefix_guess(node_id, list(self.tensors)))
        self.prefix_edit.setObjectName("weights_prefix")
        self.prefix_edit.setToolTip("Only the file's tensors whose names start with this; "
                                    "it is stripped before matching")
        form.addRow("prefix", self.prefix_edit)
        self.match_box = QComboBox()
        self.match_box.setObjectName("weights_match")
        self.match_box.addItems(list(WEIGHTS_MATCHES))
        self.match_box.setToolTip("names: dots in the file's names stand for / or _ of the "
                                  "node's; order: the i-th tensor goes to the i-th")
        form.addRow("match", self.match_box)
        layout.addLayout(form)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("weights_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        self.summary = QLabel()
        self.summary.setObjectName("weights_summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.prefix_edit.textChanged.connect(self.refresh)
        self.match_box.currentTextChanged.connect(self.refresh)
        self.found: WeightsMatch | None = None
        self.refresh()

    def refresh(self) -> None:
        """The table and Apply for the prefix and match now chosen."""
        from composer.runtime.weights import match_tensors, shape_text

        found = match_tensors(self.node_id, self.module, self.tensors, self.path,
                              self.prefix_edit.text(), self.match_box.currentText())
        self.found = found
        self.table.setRowCount(len(found.rows))
        for i, row in enumerate(found.rows):
            cells = (row.model or "", shape_text(row.model_shape), row.file or "",
                     shape_text(row.file_shape), row.status)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not row.ok:
                    item.setForeground(QColor("#c0392b"))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.apply_button.setEnabled(found.ok)
        fit = f"{len(found.matched)} of {len(found.rows)} tensors fit"
        self.summary.setText(fit if found.ok else f"{fit}. {found.message()}")

    def apply(self) -> None:
        if self.found is None or not self.found.ok:
            return
        self.document.set_weights(self.node_id, {"path": self.path, "prefix": self.found.prefix,
                                                 "match": self.found.match})
        self.accept()
