"""Two runs compared: what differs between their graphs, one line each, and their final
metrics side by side, values that differ in bold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.run_compare import Comparison


class CompareDialog(QDialog):
    """Shows a Comparison (composer/run_compare.py); the first run is the older."""

    def __init__(self, comparison: Comparison, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        a, b = comparison.runs
        self.setObjectName("compare_dialog")
        self.setWindowTitle(f"Compare runs {a.id} and {b.id}")
        count = len(comparison.differences)
        heading = QLabel(f"<b>Graph</b>: from run {_name(a)} to run {_name(b)}, "
                         + (f"{count} difference{'s' * (count != 1)}" if count
                            else "no differences"), wordWrap=True)
        self.differences = QListWidget(objectName="compare_differences")
        self.differences.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.differences.addItems(comparison.differences or ["The graphs train the same way."])
        self.metrics = _metric_table(comparison)
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("<b>Final metrics</b>"))
        column.addWidget(self.metrics)
        upper = QWidget()
        top = QVBoxLayout(upper)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(heading)
        top.addWidget(self.differences)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        lines = min(max(len(comparison.differences), 1), 12)  # the list as tall as it needs
        split.setSizes([lines * 18 + 60, 400])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def difference_lines(self) -> list[str]:
        return [self.differences.item(i).text() for i in range(self.differences.count())]


def _metric_table(comparison: Comparison) -> QTableWidget:
    rows = comparison.rows
    table = QTableWidget(len(rows), len(comparison.header), objectName="compare_metrics")
    table.setHorizontalHeaderLabels(comparison.header)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    bold = QFont(table.font())
    bold.setBold(True)
    for r, row in enumerate(rows):
        differ = len(set(row[1:])) > 1
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if differ:
                    item.setFont(bold)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for c in range(1, len(comparison.header)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    return table


def _name(run) -> str:
    return run.id + (f" ({run.record.label})" if run.record.label else "")

