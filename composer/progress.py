"""What `composer train` shows: a progress bar with the current losses and ETA on stderr, and a
summary table at the end."""

from __future__ import annotations

import shutil
import time
from typing import Any, TextIO

from composer.runtime.precision import compile_line

REDRAW_S = 0.1  # redraw the bar at most this often on a terminal
LOG_S = 5.0  # and write a line at most this often to a file or pipe


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """A training callback that draws progress; it never stops or pauses the run."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.total = 0
        self.first = 0
        self.shown = 0.0
        self.started = time.perf_counter()
        self.open_line = False

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "start":
            self.total, self.first = event["total_steps"], event["step"]
            self.started = time.perf_counter()
        elif kind == "step":
            now = time.perf_counter()
            if "compile_s" in event:  # the rate and ETA count from the first compiled step
                self._end_line()
                self.stream.write(compile_line(event["compile_s"]) + "\n")
                self.started, self.first = now, event["step"] + 1
            last = event["step"] + 1 >= self.total
            if last or now - self.shown >= (REDRAW_S if self.tty else LOG_S):
                self.shown = now
                self._draw(event, now)
        elif kind == "epoch":
            self._end_line()
            values = [f"{k} {v:.4f}" for k, v in event["val"].items()]
            values += [f"{k} acc {v:.3f}" for k, v in event["accuracy"].items()]
            label = "last epoch (partial)" if event.get("partial") else f"epoch {event['epoch']}"
            self.stream.write(f"{label}: val {', '.join(values) or '-'}\n")
        elif kind == "end":
            self._end_line()
        self.stream.flush()

    def _draw(self, event: dict[str, Any], now: float) -> None:
        done = event["step"] + 1
        rate = (done - self.first) / max(now - self.started, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0.0
        width = shutil.get_terminal_size((100, 20)).columns - 1
        filled = int(20 * done / max(self.total, 1))
        losses = " ".join(f"{k} {v:.4f}" for k, v in event["loss"].items())
        line = (f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{self.total} "
                f"epoch {event['epoch']} | {losses} | {rate:.1f} steps/s ETA {_duration(eta)}")
        if self.tty:
            self.stream.write("\r" + line[:width].ljust(width))
            self.open_line = True
        else:
            self.stream.write(line + "\n")

    def _end_line(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False


def summary_table(history: list[dict[str, Any]], val: dict[str, float],
                  accuracy: dict[str, float], owner: dict[str, str]) -> str:
    """One row per loss node: its group, last training value, validation loss and accuracy."""
    last: dict[str, float] = {}
    for record in history:
        last.update(record.get("loss", {}))
    nodes = list(dict.fromkeys([*last, *val]))
    rows = [("loss node", "group", "last train", "val", "accuracy")]
    for node in nodes:
        rows.append((node, owner.get(node, "-"), _number(last.get(node)),
                     _number(val.get(node)), _number(accuracy.get(node), 3)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
