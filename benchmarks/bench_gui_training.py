"""Training speed with the window attached vs headless.

Trains the same sample for the same number of steps twice per round: once with
`composer.train` and nothing else, once from the real MainWindow's training panel (the worker
thread, the buffered events, the curves redrawing on their timer, offscreen). Prints the
steps per second of each and their ratio (window / headless; 1.0 means the window costs
nothing), and how the event loop answered meanwhile (gaps of a 10 ms timer).

The speed is the step loop's own: steps over the `elapsed` time the last step event reports,
the same clock in both runs (compilation and data loading excluded). Headless training runs on
a thread of its own, as the window's worker does: torch's CPU threading differs between the
main thread and others, which on a busy machine changes the speed far more than the window
does (`--main-thread` prints that figure too).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_training.py \
        [--sample samples/gan_digits.graph.json] [--steps 2000] [--rounds 4] [--threads 1]
        [--main-thread] [--probe]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import composer  # noqa: E402


def headless(path: Path, steps: int, on_thread: bool = True) -> float:
    """Steps per second of composer.train alone, on a thread of its own like the window's
    worker (torch's threading differs on the main thread: `on_thread=False` measures that)."""
    last: dict = {}

    def callback(event: dict) -> None:
        if event["kind"] == "step":
            last.update(event)

    def run() -> None:
        composer.train(composer.load(path), steps=steps, callback=callback)

    if on_thread:
        thread = threading.Thread(target=run, name="headless")
        thread.start()
        thread.join()
    else:
        run()
    return (last["step"] + 1) / last["elapsed"]


def with_window(app: QApplication, path: Path, steps: int, settings: Path,
                probe: bool) -> dict:
    """Steps per second training from the window's panel, and the event loop's gaps."""
    from gui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    window.document.open(path)
    window.document.analyse_now()
    panel = window.training_panel
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    redraws = 0

    def count() -> None:
        nonlocal redraws
        redraws += 1

    panel._timer.timeout.connect(count)
    loop = QEventLoop()  # the application's own event loop, as when a user watches
    panel.state_changed.connect(lambda state: state == "idle" and loop.quit())
    panel.start(steps=steps)
    if probe:
        timer.start()
    cpu = time.thread_time()
    loop.exec()
    cpu = time.thread_time() - cpu  # the GUI thread's own work while the run went on
    timer.stop()
    h = panel.history
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False)) or [0.0]
    result = {"rate": h.steps_done / h.elapsed, "redraws": redraws, "seconds": h.elapsed,
              "gui_cpu": cpu,
              "p95_gap_ms": 1000 * gaps[int(0.95 * (len(gaps) - 1))],
              "max_gap_ms": 1000 * gaps[-1], "points": panel.curves.point_count(
                  "loss", h.losses[0])}
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=ROOT / "samples" / "gan_digits.graph.json")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (one gives steady figures on a shared machine)")
    parser.add_argument("--probe", action="store_true",
                        help="measure the event loop's answers with a 10 ms timer meanwhile "
                             "(it costs the training thread some speed itself)")
    parser.add_argument("--main-thread", action="store_true",
                        help="also time headless training on the main thread")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_gui_training.ini"
    headless(args.sample, 10)  # imports, compilation and the data, once, before timing
    plain, gui = [], []
    print(f"{args.sample.name}, {args.steps} steps a run, {args.rounds} round(s), "
          f"{args.threads} torch thread(s)")
    for r in range(args.rounds):
        if r % 2:  # alternate which goes first, so a drift in the machine's load evens out
            shown = with_window(app, args.sample, args.steps, settings, args.probe)
            plain.append(headless(args.sample, args.steps))
        else:
            plain.append(headless(args.sample, args.steps))
            shown = with_window(app, args.sample, args.steps, settings, args.probe)
        gui.append(shown["rate"])
        probe = (f", event loop p95 gap {shown['p95_gap_ms']:.0f} ms, max "
                 f"{shown['max_gap_ms']:.0f} ms" if args.probe else "")
        print(f"round {r + 1}: headless {plain[-1]:7.1f} steps/s   window {shown['rate']:7.1f} "
              f"steps/s   ({shown['redraws']} redraws in {shown['seconds']:.1f} s, GUI thread "
              f"busy {shown['gui_cpu']:.2f} s"
              f"{probe}, {shown['points']} points drawn)")
    if args.main_thread:
        print(f"headless on the main thread: {headless(args.sample, args.steps, False):.1f} "
              "steps/s")
    ratio = statistics.median(gui) / statistics.median(plain)
    print(f"median: headless {statistics.median(plain):.1f} steps/s, window "
          f"{statistics.median(gui):.1f} steps/s, ratio window/headless {ratio:.3f}")


if __name__ == "__main__":
    main()
