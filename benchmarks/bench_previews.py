"""Training speed with previews on and off, in the window, and the GUI thread's time per preview.

Trains the same sample for the same number of steps from the real MainWindow's training panel
(the worker thread, the curves redrawing on their timer, offscreen), once watching nothing and
once watching outputs (by default the sample's own watch list; `--watch` replaces it), rounds
alternating which goes first. Prints steps per second of each and their ratio (previews / none),
the GUI thread's CPU time in each run, the previews drawn, the longest time the GUI thread
spent drawing one preview (all its cards),
and the longest gap of a 10 ms timer on the GUI thread in each run (`--probe`), which is what a
user would feel as a stall.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_previews.py \
        [--sample samples/gan_digits.graph.json] [--steps 2000] [--rounds 4] [--threads 1]
        [--watch g_img.out,d_on_real.logit] [--steps-per-epoch N] [--probe]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import composer  # noqa: E402


def run_window(app: QApplication, graph: composer.Graph, steps: int, settings: Path,
               probe: bool) -> dict:
    """Steps per second training `graph` from the window, previews drawn, their GUI time."""
    from gui.main_window import MainWindow

    window = MainWindow(QSettings(str(settings), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    window.document.replace_graph(graph)
    window.document.analyse_now()
    panel = window.training_panel
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QEventLoop()
    panel.state_changed.connect(lambda state: state == "idle" and loop.quit())
    panel.start(steps=steps)
    if probe:
        timer.start()
    cpu = time.thread_time()
    loop.exec()
    cpu = time.thread_time() - cpu  # the GUI thread's own work while the run went on
    timer.stop()
    h = panel.history
    drawn = panel.previews.timings_ms
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)] or [0.0]
    result = {"rate": h.steps_done / h.elapsed, "previews": len(panel.previews.records),
              "max_draw_ms": max(drawn, default=0.0),
              "median_draw_ms": statistics.median(drawn) if drawn else 0.0,
              "max_gap_ms": 1000 * max(gaps), "gui_cpu": cpu}
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
    parser.add_argument("--watch", help="outputs to watch, node.port,... (default: the "
                        "sample's ui.watch)")
    parser.add_argument("--steps-per-epoch", type=int,
                        help="replaces training.steps_per_epoch: previews come once an epoch")
    parser.add_argument("--probe", action="store_true",
                        help="measure the event loop's gaps with a 10 ms timer meanwhile")
    args = parser.parse_args()
    import torch

    from composer.previews import watched

    torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_previews.ini"
    graph = composer.load(args.sample)
    if args.steps_per_epoch:
        graph.training.steps_per_epoch = args.steps_per_epoch
    watch = args.watch.split(",") if args.watch else watched(graph)
    plain, seen = graph.copy(), graph.copy()
    plain.ui.pop("watch", None)
    seen.ui["watch"] = watch
    composer.train(plain, steps=10)  # imports, compilation and the data, once, before timing
    off, on, draws, gaps_off, gaps_on, cpu_off, cpu_on = [], [], [], [], [], [], []
    print(f"{args.sample.name}, {args.steps} steps a run, {args.rounds} round(s), "
          f"{args.threads} torch thread(s), watching {', '.join(watch)}")
    for r in range(args.rounds):
        order = [(plain, off), (seen, on)] if r % 2 == 0 else [(seen, on), (plain, off)]
        for g, rates in order:
            result = run_window(app, g.copy(), args.steps, settings, args.probe)
            rates.append(result["rate"])
            (gaps_on if g is seen else gaps_off).append(result["max_gap_ms"])
            (cpu_on if g is seen else cpu_off).append(result["gui_cpu"])
            if g is seen:
                draws.append(result["max_draw_ms"])
                shown = result
        probe = (f"; longest event-loop gap {gaps_off[-1]:.0f} ms without, {gaps_on[-1]:.0f} "
                 "ms with previews" if args.probe else "")
        print(f"round {r + 1}: no previews {off[-1]:7.1f} steps/s   previews {on[-1]:7.1f} "
              f"steps/s   (GUI thread busy {cpu_off[-1]:.2f} s without, {cpu_on[-1]:.2f} s "
              f"with previews; {shown['previews']} previews drawn, median "
              f"{shown['median_draw_ms']:.1f} ms, longest {shown['max_draw_ms']:.1f} ms on the "
              f"GUI thread{probe})")
    ratio = statistics.median(on) / statistics.median(off)
    print(f"median: no previews {statistics.median(off):.1f} steps/s, previews "
          f"{statistics.median(on):.1f} steps/s, ratio previews/none {ratio:.3f}; longest GUI "
          f"time for one preview {max(draws):.1f} ms")


if __name__ == "__main__":
    main()
