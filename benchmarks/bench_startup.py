"""Start-up time of the desktop application: until the window is shown, until the first
analysis (shapes and checks, which loads torch) has been drawn, and the longest the event
loop went without answering in between (what a user feels as a freeze).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_startup.py [FILE]

Each figure is measured in a fresh process, from interpreter start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "samples" / "multitask_digits.graph.json"

PROBE = r"""
import time
t0 = time.perf_counter()
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([sys.argv[0]])
from gui.app import main

ticks = []

def shown():
    from gui.main_window import MainWindow
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    print(f"shown {time.perf_counter() - t0:.3f}", flush=True)
    timer = QTimer(app, interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    def analysed():
        print(f"analysed {time.perf_counter() - t0:.3f}", flush=True)
        gaps = [b - a for a, b in zip(ticks, ticks[1:])] or [0.0]
        print(f"stall {max(gaps):.3f}", flush=True)
        app.quit()
    window.document.analysed.connect(analysed)

QTimer.singleShot(0, shown)
main(sys.argv[1:])
"""


def measure(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, text=True,
                         capture_output=True, timeout=120, check=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines()
                                     if line.split()[0] in ("shown", "analysed", "stall"))}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    runs = [measure(path) for _ in range(3)]
    for key in ("shown", "analysed", "stall"):
        values = sorted(r[key] for r in runs)
        print(f"{key:>9}: median {values[1]:.2f} s  (min {values[0]:.2f}, max {values[2]:.2f})")


if __name__ == "__main__":
    main()
