"""The outputs an ONNX export gives: one checkbox per output the model computes, those the
losses score ticked to begin with."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

Button = QDialogButtonBox.StandardButton


class OnnxOutputsDialog(QDialog):
    """Pick the outputs ("node.port"); `chosen()` lists the ticked ones in the model's order.
    OK stays disabled while none is ticked."""

    def __init__(self, choices: list[str], ticked: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export ONNX")
        self.boxes: dict[str, QCheckBox] = {}
        inner = QWidget()
        column = QVBoxLayout(inner)
        for ref in choices:
            box = QCheckBox(ref)
            box.setObjectName(f"onnx_output_{ref}")
            box.setChecked(ref in ticked)
            box.toggled.connect(self._update_ok)
            column.addWidget(box)
            self.boxes[ref] = box
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        self.buttons = QDialogButtonBox(Button.Ok | Button.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        hint = QLabel("The ONNX file computes these outputs from the data they need, with the "
                      "trained weights; its batch size is free. Ticked to begin with: what the "
                      "losses score.")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self.resize(420, min(560, 160 + 28 * len(choices)))
        self._update_ok()

    def chosen(self) -> list[str]:
        return [ref for ref, box in self.boxes.items() if box.isChecked()]

    def _update_ok(self) -> None:
        self.buttons.button(Button.Ok).setEnabled(bool(self.chosen()))
