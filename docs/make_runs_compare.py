"""Makes docs/runs_compare.png: two past runs of the multi-task sample (learning rates 0.003
and 0.001, made with `composer train`) drawn dimmed behind a run trained in the window (at
0.0003), and the Compare dialog of the two.

    QT_QPA_PLATFORM=offscreen python docs/make_runs_compare.py [OUT.png]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = 300


def main(out: Path) -> None:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    import composer
    from composer import cli
    from gui.main_window import MainWindow
    from gui.training.install import train_for_screenshot

    work = Path(tempfile.mkdtemp(prefix="runs-compare-"))
    graph_file = work / "multitask_digits.graph.json"
    shutil.copyfile(ROOT / "samples" / graph_file.name, graph_file)
    for lr, label in ((0.003, "lr 3e-3"), (0.001, "lr 1e-3"), (0.0003, None)):
        graph = composer.load(graph_file)
        graph.groups[0].optimizer["lr"] = lr
        composer.save(graph, graph_file)
        if label:
            cli.main(["train", str(graph_file), "--steps", str(STEPS), "--label", label])
    app = QApplication.instance() or QApplication([])
    window = MainWindow(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat),
                        library=work / "library")
    window.resize(1500, 980)
    window.show()
    window.document.open(graph_file)
    train_for_screenshot(window, STEPS)  # a live run, at lr 0.0003 as the file now says
    window.resizeDocks([window.training_dock], [int(window.height() * 0.56)],
                       Qt.Orientation.Vertical)
    panel = window.training_panel
    view = panel.runs_view
    view.refresh()
    labels = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())]
    view.select([run.id for run in view.runs if run.record.label])  # the two CLI runs
    view.overlay.setChecked(True)
    view.compare_selected()
    dialog = view.compare_dialog
    dialog.resize(600, 560)
    for _ in range(20):
        app.processEvents()
    shot, inset = window.grab(), dialog.grab()
    gap = 16
    picture = QPixmap(shot.width() + gap + inset.width(), shot.height())
    picture.fill(QColor("#d0d4d9"))
    painter = QPainter(picture)
    painter.drawPixmap(0, 0, shot)
    painter.drawPixmap(shot.width() + gap, 60, inset)  # the dialog beside the window
    painter.end()
    picture.save(str(out))
    print(f"wrote {out}: runs {labels}")
    panel.shutdown()
    window.document.undo_stack.setClean()
    window.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "runs_compare.png")
