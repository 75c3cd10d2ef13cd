"""The table of final metrics: per loss node its last training loss, validation loss and
accuracy; per group its weighted total and its last learning rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

if TYPE_CHECKING:  # numpy loads with the first run, not with the window
    from gui.training.history import RunHistory

COLUMNS = ["", "train loss (last step)", "val loss", "val accuracy", "learning rate"]


@dataclass
class Row:
    name: str
    is_group: bool
    train: float | None
    val: float | None
    accuracy: float | None = None
    lr: float | None = None


def result_rows(history: RunHistory | None, val: dict[str, float], accuracy: dict[str, float],
                group_losses: dict[str, dict[str, float]]) -> list[Row]:
    """One row per loss node, then one per group (`group_losses`: group -> loss -> weight).
    A group's validation total is the weighted sum of its losses' validation values."""
    def last(kind: str, name: str) -> float | None:
        return history.last(kind, name) if history is not None else None

    losses = list(history.losses) if history is not None else list(val)
    rows = [Row(n, False, last("loss", n), val.get(n), accuracy.get(n)) for n in losses]
    for group, weights in group_losses.items():
        total = None
        if weights and all(n in val for n in weights):
            total = sum(w * val[n] for n, w in weights.items())
        rows.append(Row(group, True, last("group_loss", group), total, None, last("lr", group)))
    return rows


def _text(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "\u2013"
    if percent:
        return f"{100 * value:.1f} %"
    return f"{value:.4g}"


class ResultsTable(QTableWidget):
    """Read-only; numbers right-aligned, groups in bold below the losses."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("training_results")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def show_rows(self, rows: list[Row]) -> None:
        self.setRowCount(len(rows))
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            name = f"group {row.name} (weighted total)" if row.is_group else row.name
            cells = [name, _text(row.train), _text(row.val), _text(row.accuracy, percent=True),
                     _text(row.lr) if row.is_group else ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if row.is_group:
                    item.setFont(bold)
                self.setItem(r, c, item)

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""
