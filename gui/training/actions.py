"""The training actions' common make: a named QAction with its shortcut and tips, so the
panel's buttons and the Run menu share one object each."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence


def make_action(parent: QObject, name: str, text: str, slot: Callable[[], object],
                shortcut: str = "", tip: str = "") -> QAction:
    action = QAction(text, parent)
    action.setObjectName(f"action_{name}")
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
    action.triggered.connect(lambda *_: slot())
    return action
