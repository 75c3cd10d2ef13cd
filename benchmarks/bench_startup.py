"""Start-up time of the desktop application: until the window is shown, until the first
analysis (shapes and checks) has been drawn, and the longest the event loop went without
answering in between (what a user feels as a freeze); then the same for a first edit made once
that analysis is in: a parameter set through the document, until it is analysed again.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_startup.py [FILE]

Each figure is measured in a fresh process, from interpreter start. `torch` says whether torch
had been imported by the end (something on the way to the first analysis or edit loaded it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "samples" / "multitask_digits.graph.json"
SETTLE_MS = 300  # ticks watched after the edit's analysis, for redraws it set off

PROBE = r"""
import time
t0 = time.perf_counter()
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([sys.argv[0]])
from gui.app import main

ticks = []


def longest_gap(since):
    times = [since] + [t for t in ticks if t >= since]
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def first_edit(document):
    "(node, parameter, new value): the first Int parameter of a layer, changing its shapes."
    for node in document.graph.nodes.values():
        if node.node_type.is_data:
            continue
        for param in node.node_type.params:
            if type(param).__name__ == "Int" and param.max is not None:
                value = node.resolved_params()[param.name] or param.min or 1
                return node.id, param.name, value + 1 if value < param.max else value - 1
    raise SystemExit("no node with an Int parameter to edit")


def shown():
    from gui.main_window import MainWindow
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    document = window.document
    print(f"shown {time.perf_counter() - t0:.3f}", flush=True)
    started = time.perf_counter()
    timer = QTimer(app, interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    edit = {}

    def analysed():
        now = time.perf_counter()
        if not edit:
            print(f"analysed {now - t0:.3f}", flush=True)
            print(f"stall {longest_gap(started):.3f}", flush=True)
            edit["start"] = None
            QTimer.singleShot(50, make_edit)
        elif "analysed" not in edit:
            edit["analysed"] = now
            print(f"edit_analysed {now - edit['start']:.3f}", flush=True)
            QTimer.singleShot(SETTLE_MS, finish)

    def make_edit():
        node, name, value = first_edit(document)
        edit["start"] = time.perf_counter()
        document.set_param(node, name, value)

    def finish():
        print(f"edit_stall {longest_gap(edit['start']):.3f}", flush=True)
        print(f"torch {int('torch' in sys.modules)}", flush=True)
        document.undo_stack.setClean()  # quit without asking to save the edit
        app.quit()

    document.analysed.connect(analysed)


QTimer.singleShot(0, shown)
main(sys.argv[1:])
""".replace("SETTLE_MS", str(SETTLE_MS))
KEYS = ("shown", "analysed", "stall", "edit_analysed", "edit_stall", "torch")


def measure(path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as recovery:  # no other session's work to offer
        env = os.environ | {"COMPOSER_RECOVERY_DIR": recovery}
        out = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, text=True,
                             capture_output=True, timeout=120, check=True, env=env).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines()
                                     if line.split()[0] in KEYS)}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    runs = [measure(path) for _ in range(3)]
    for key in KEYS[:-1]:
        values = sorted(r[key] for r in runs)
        print(f"{key:>13}: median {values[1]:.2f} s  (min {values[0]:.2f}, max {values[2]:.2f})")
    loaded = sum(r["torch"] for r in runs)
    print(f"{'torch':>13}: imported in {loaded:.0f} of {len(runs)} runs")


if __name__ == "__main__":
    main()
