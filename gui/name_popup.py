"""A one-line popup that asks for a name where the user is looking: type it, Enter.

A name that cannot be used is refused in the popup with the reason, and the popup stays open;
Escape closes it without doing anything.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from gui import theme


class NamePopup(QFrame):
    """`problem(name)` says why a name cannot be used (or None); `accept(name)` uses it."""

    def __init__(self, parent: QWidget, title: str, suggested: str,
                 problem: Callable[[str], str | None], accept: Callable[[str], object]) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.problem, self.accept = problem, accept
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit = QLineEdit(suggested, self)
        self.edit.setObjectName("name_popup_edit")
        self.edit.selectAll()
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ERROR_COLOR.name()};")
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel(title, self))
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        self.setMinimumWidth(300)
        self.edit.returnPressed.connect(self.submit)
        self.edit.installEventFilter(self)

    def submit(self) -> None:
        name = self.edit.text().strip()
        why = self.problem(name)
        if why:
            self.error.setText(why)
            self.error.show()
            self.adjustSize()
            return
        self.close()
        self.accept(name)

    def popup(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.edit.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.edit and event.type() == QEvent.Type.KeyPress \
                and event.key() == Qt.Key.Key_Escape:
            self.close()
            return True
        return super().eventFilter(watched, event)
