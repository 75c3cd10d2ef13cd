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

`--long` measures a long run instead: synthetic events of the sample's losses and groups for
200,000 steps go through the real panel (its history and curves) in the chunks the drain timer
takes at `--rate` steps per second; it prints the redraw time (median, p99, max) near 20k,
100k and 200k points, the share of the run the GUI thread is busy, the most points a curve
draws, the process's RSS, and the redraw time of zooming and panning over the whole run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_training.py \
        [--sample samples/gan_digits.graph.json] [--steps 2000] [--rounds 4] [--threads 1]
        [--main-thread] [--probe]
        [--long [--long-steps 200000] [--rate 400] [--screenshot docs/long_run.png]]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer, Signal  # noqa: E402
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


# --- a long run: synthetic events through the real panel -----------------------------------

TICK_S = 0.33  # the panel's redraw period: one drain of the events a tick
MARKS = (20_000, 100_000, 200_000)  # points per curve where the redraws are summarised
SPIKES = 25_000  # every this many steps the second loss spikes up and the last dips
SHAPES = ((0.6, 0.0, 0.05, 0.04), (0.7, -0.1, 0.0, 0.04), (0.9, 0.5, 0.0, 0.08))
# a loss: its base value, its change over the run, its slow wave and its noise (i-th loss
# takes the i-th shape, cycling)


class SyntheticRun(QObject):
    """Stands in for the training worker: the events of a run of the sample's losses and
    groups, a tick's worth at a time (`feed`), without training. Loss values are noise around
    slow trends (SHAPES), with a one-step spike and dip every SPIKES steps that a zoomed-out
    curve must still show; a group's total is the sum of its losses."""

    run_started = Signal()
    run_finished = Signal(object)
    run_failed = Signal(str, object)

    def __init__(self, start: dict, step: dict, group_losses: dict[str, list[str]]) -> None:
        super().__init__()
        self.paused = False
        self.start_event, self.template = start, step
        self.group_losses = group_losses
        self.pending: list[dict] = [start]
        self.step = 0
        self.rng = np.random.default_rng(0)

    def start(self) -> None:
        pass

    def ready(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wait(self, ms: int = 0) -> bool:
        return True

    def is_running(self) -> bool:
        return False

    def drain(self) -> list[dict]:
        events, self.pending = self.pending, []
        return events

    def feed(self, n: int, rate: float) -> None:
        """Queues the next `n` steps' events (and an epoch's at each epoch's end)."""
        total = self.start_event["total_steps"]
        per_epoch = self.start_event["steps_per_epoch"]
        steps = np.arange(self.step, min(self.step + n, total))
        losses = self.start_event["losses"]
        noise = self.rng.normal(size=(len(steps), len(losses)))
        t, wave = steps / total, np.sin(steps / 3000)
        columns = []
        for i in range(len(losses)):
            base, trend, swing, spread = SHAPES[i % len(SHAPES)]
            columns.append(np.abs(base + trend * t + swing * wave + spread * noise[:, i]))
        odd = steps % SPIKES == SPIKES // 2
        columns[min(1, len(losses) - 1)][odd] *= 6.0  # a spike
        columns[-1][odd] *= 0.1  # and a dip
        lr, groups = self.template["lr"], list(self.group_losses)
        for s, values in zip(steps.tolist(), np.stack(columns, 1).tolist(), strict=True):
            loss = dict(zip(losses, values, strict=True))
            totals = {g: sum(loss[n] for n in names if n in loss)
                      for g, names in self.group_losses.items()}
            self.pending.append({"kind": "step", "epoch": s // per_epoch, "step": s,
                                 "loss": loss, "group_loss": totals, "lr": lr,
                                 "active": groups, "elapsed": s / rate})
            if (s + 1) % per_epoch == 0:
                val = {n: v + 0.02 for n, v in loss.items()}
                self.pending.append({"kind": "epoch", "epoch": s // per_epoch, "step": s,
                                     "val": val, "accuracy": {}})
        self.step += len(steps)


def first_events(path: Path) -> tuple[dict, dict]:
    """The start event and a step event of one real step of the sample."""
    seen: dict = {}

    def callback(event: dict) -> None:
        seen.setdefault(event["kind"], event)

    composer.train(composer.load(path), steps=1, callback=callback)
    return seen["start"], seen["step"]


def rss_mb() -> float:
    """The process's resident memory now (Linux), or its peak elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def history_mb(history) -> float:
    """What the run's history arrays hold (filled part)."""
    arrays = [a for table in history.series.values() for s in table.values()
              for a in (s.x, s.y)]
    return sum(a.nbytes for a in arrays) / 2**20


def drawn(curves) -> tuple[int, str]:
    """The most points any curve hands Qt to draw (pyqtgraph's displayed data), and which."""
    counts = {f"{kind}:{name}": len(x) for (kind, name), item in curves.items.items()
              if (x := item.getData()[0]) is not None}
    name = max(counts, key=counts.get, default="-")
    return counts.get(name, 0), name


def spread(seconds: list[float]) -> str:
    """Median / p99 / max, in ms."""
    ms = sorted(1000 * s for s in seconds)
    p99 = ms[min(len(ms) - 1, math.ceil(0.99 * len(ms)) - 1)]
    return f"{statistics.median(ms):5.1f} / {p99:5.1f} / {ms[-1]:5.1f} ms"


def summary(label: str, ticks: list[tuple[int, float, float]]) -> str:
    """Wall time (what the user waits, the machine's other load included) and the GUI
    thread's own CPU time of the redraws in `ticks`, and the share of the run it is busy."""
    busy = sum(c for _, _, c in ticks) / (len(ticks) * TICK_S)
    return (f"{label}: redraw {spread([w for _, w, _ in ticks])} (median / p99 / max), "
            f"CPU {spread([c for _, _, c in ticks])}; GUI thread busy {100 * busy:4.1f}% "
            "of the run")


def long_run(app: QApplication, path: Path, steps: int, rate: float, settings: Path,
             screenshot: Path | None = None) -> None:
    """Feeds a long synthetic run through the window's training panel and prints how its
    redraws and memory grow."""
    import gui.training.panel as panel_module
    from gui.main_window import MainWindow

    start, step = first_events(path)
    start = dict(start, total_steps=steps, epochs=math.ceil(steps / start["steps_per_epoch"]))
    groups = {g.id: list(g.losses) for g in composer.load(path).groups}
    run = SyntheticRun(start, step, groups)
    panel_module.make_worker = lambda *args, **kwargs: run
    window = MainWindow(QSettings(str(settings), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    window.document.open(path)
    window.document.analyse_now()
    panel = window.training_panel
    app.processEvents()
    panel.start(steps=steps)
    panel._timer.stop()  # the ticks are driven here, one drain each, as the timer would
    panel.drain()
    app.processEvents()
    # as tall as `python -m gui --screenshot` leaves it: the loss plot gets a third of it
    window.resizeDocks([window.training_dock], [window.height() // 2], Qt.Orientation.Vertical)
    app.processEvents()
    per_tick = max(1, round(rate * TICK_S))
    box = panel.curves.loss_plot.getViewBox()
    print(f"{path.name}: {steps} synthetic steps, {per_tick} a redraw ({rate:.0f} steps/s, "
          f"a redraw every {TICK_S:.2f} s)")
    rss0 = rss_mb()
    ticks: list[tuple[int, float, float]] = []
    marks = [m for m in MARKS if m <= steps] or [steps]
    while run.step < steps:
        run.feed(per_tick, rate)
        wall, cpu = time.perf_counter(), time.thread_time()
        panel.drain()
        app.processEvents()  # lays out and paints what changed, as the event loop would
        ticks.append((run.step, time.perf_counter() - wall, time.thread_time() - cpu))
        if marks and run.step >= marks[0]:
            mark = marks.pop(0)
            window_ticks = [t for t in ticks if t[0] > mark - max(per_tick * 30, mark // 10)]
            points, name = drawn(panel.curves)
            print(summary(f"{mark:>7,} points", window_ticks))
            print(f"{'':16}at most {points} points drawn a curve ({name}); RSS "
                  f"{rss_mb():.0f} MB (+{rss_mb() - rss0:.0f}), history "
                  f"{history_mb(panel.history):.1f} MB")
    print(f"{summary('whole run', ticks)}; loss plot {box.width():.0f} x {box.height():.0f} px")
    if screenshot is not None:
        save_views(app, panel.curves, steps, screenshot)
    zoom_and_pan(app, panel, steps)
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()


def save_views(app: QApplication, curves, steps: int, path: Path) -> None:
    """The curves of the whole run above those of 2,000 steps around its middle spike."""
    from PySide6.QtGui import QColor, QImage, QPainter

    box = curves.loss_plot.getViewBox()
    spike = (steps // 2) // SPIKES * SPIKES + SPIKES // 2
    pictures = []
    for low, high in ((0, steps), (spike - 1000, spike + 1000)):
        box.setXRange(low, high, padding=0.01 if low == 0 else 0)
        app.processEvents()
        pictures.append(curves.grab().toImage())
    width, height = pictures[0].width(), sum(p.height() for p in pictures)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.drawImage(0, 0, pictures[0])
    painter.drawImage(0, pictures[0].height(), pictures[1])
    painter.end()
    image.save(str(path))
    box.setXRange(0, steps, padding=0.01)
    print(f"saved {path}")


def zoom_and_pan(app: QApplication, panel, steps: int) -> None:
    """Redraws after the user zooms into the run's end and pans a 10% window across it."""
    box = panel.curves.loss_plot.getViewBox()
    walls, cpus, drawn_at = [], [], []
    ranges = [(steps - 500, steps), (0, steps)]
    ranges += [(k * steps // 40, k * steps // 40 + steps // 10) for k in range(37)]
    for low, high in ranges:
        wall, cpu = time.perf_counter(), time.thread_time()
        box.setXRange(low, high, padding=0)
        app.processEvents()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.thread_time() - cpu)
        drawn_at.append(drawn(panel.curves)[0])
    print(f"zoom and pan over {steps:,} points ({len(ranges)} ranges): redraw {spread(walls)}, "
          f"CPU {spread(cpus)}; {drawn_at[0]} points drawn a curve zoomed into the last 500 "
          f"steps, {drawn_at[1]} zoomed out")


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
    parser.add_argument("--long", action="store_true",
                        help="measure the window's redraws over a long synthetic run instead")
    parser.add_argument("--long-steps", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=400.0,
                        help="steps per second the synthetic run reports (the GAN's speed)")
    parser.add_argument("--screenshot", type=Path,
                        help="with --long: save the curves, whole and zoomed in, to this PNG")
    args = parser.parse_args()
    if args.long:
        app = QApplication.instance() or QApplication([sys.argv[0]])
        settings = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_gui_training.ini"
        long_run(app, args.sample, args.long_steps, args.rate, settings, args.screenshot)
        return
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
