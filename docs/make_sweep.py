"""Makes docs/sweep.png: the Sweep dialog after a sweep of the multi-task sample's learning
rate over four values, run in the window one after another, its results table sorted by the
classifier's validation loss.

    QT_QPA_PLATFORM=offscreen python docs/make_sweep.py [OUT.png]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = 150
VALUES = "0.01, 0.003, 0.001, 0.0003"


def main(out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from composer.sweep import Target
    from gui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="sweep-"))
    graph_file = work / "multitask_digits.graph.json"
    shutil.copyfile(ROOT / "samples" / graph_file.name, graph_file)
    app = QApplication.instance() or QApplication([])
    window = MainWindow(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat),
                        library=work / "library")
    window.resize(1500, 980)
    window.show()
    window.document.open(graph_file)
    panel = window.training_panel
    panel.open_sweep()
    dialog = panel.sweep_dialog
    dialog.targets.select(Target("group", "joint", "lr"))
    dialog.values.setText(VALUES)
    dialog.steps.setValue(STEPS)
    dialog.start()
    deadline = time.monotonic() + 900
    while dialog.running and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(out))
    print(f"wrote {out}: {dialog.summary.text()}")
    panel.shutdown()
    window.document.undo_stack.setClean()
    window.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "sweep.png")
