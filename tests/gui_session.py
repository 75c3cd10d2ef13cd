"""`python tests/gui_session.py FILE`: the application exactly as `python -m gui FILE` starts it,
plus a user who, once FILE is open, adds a labelled node and renames the graph, then prints
`edited NODE_ID` and leaves the application running (the crash-recovery test kills it)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gui import app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

LABEL = "added before the crash"
NAME = "renamed before the crash"


def edit_once_open() -> None:
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    if not windows or windows[0].document.path is None:
        QTimer.singleShot(50, edit_once_open)
        return
    document = windows[0].document
    node_id = document.add_node("layer.relu", (900.0, 300.0))
    document.set_label(node_id, LABEL)
    document.set_meta(name=NAME)
    print("edited", node_id, flush=True)


if __name__ == "__main__":
    QApplication([sys.argv[0]])
    QTimer.singleShot(0, edit_once_open)
    sys.exit(app.main(sys.argv[1:]))
