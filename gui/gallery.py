"""The samples gallery: every samples/*.graph.json with its name and description."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


@dataclass(frozen=True)
class Sample:
    path: Path
    name: str
    description: str


def list_samples(folder: Path = SAMPLES_DIR) -> list[Sample]:
    """The samples by file name. Only name and description are read here; a file that is
    not even JSON is listed with the reason, and opening it reports the full error."""
    samples = []
    for path in sorted(folder.glob("*.graph.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            name = str(data.get("name") or path.name)
            description = str(data.get("description") or "")
        except (OSError, ValueError, AttributeError) as e:
            name, description = path.name, f"unreadable: {e}"
        samples.append(Sample(path, name, description))
    return samples


class SampleGallery(QDialog):
    """Pick a sample; `chosen` is its path once accepted."""

    def __init__(self, parent: QWidget | None = None, folder: Path = SAMPLES_DIR) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open sample")
        self.resize(640, 520)
        self.chosen: Path | None = None
        self.list = QListWidget()
        self.list.setObjectName("samples_list")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        for sample in list_samples(folder):
            item = QListWidgetItem(self.list)
            item.setData(Qt.ItemDataRole.UserRole, str(sample.path))
            label = QLabel(f"<b>{html.escape(sample.name)}</b><br>"
                           f"{html.escape(sample.description)}")
            label.setToolTip(str(sample.path))
            label.setWordWrap(True)
            label.setContentsMargins(6, 4, 6, 4)
            item.setSizeHint(QSize(560, label.heightForWidth(560) + 10))
            self.list.setItemWidget(item, label)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        hint = QLabel(f"{self.list.count()} samples, one or more per pattern of composing "
                      "networks. Each trains on the CPU in about a minute.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def accept(self) -> None:
        item = self.list.currentItem()
        self.chosen = Path(item.data(Qt.ItemDataRole.UserRole)) if item else None
        super().accept()
