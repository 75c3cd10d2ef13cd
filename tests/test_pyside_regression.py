"""PySide6 6.12.0 aborts Python 3.11 ("Fatal Python error: none_dealloc") after a few thousand
Qt calls that return None; the installed version must survive many of them."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QGraphicsScene
app = QApplication([])
scene = QGraphicsScene()
item = QGraphicsRectItem(0, 0, 10, 10)
scene.addItem(item)
for i in range(20000):
    item.setPos(i % 100, i % 37)
    item.update()
print("survived", item.pos().x())
"""


def test_many_qt_calls_returning_none_do_not_abort():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert "none_dealloc" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("survived")
