"""What a run has reported so far, in growing numpy arrays the curves draw from.

The worker's events are appended here on the GUI thread in batches; a curve's arrays are views
of the filled part, so a redraw copies nothing it does not have to. No Qt here.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Series:
    """A (step, value) sequence that grows by doubling its arrays. Steps are integers: a
    plot then knows without a scan that they are all finite."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.int64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.n = 0
        self.low = float("inf")  # the smallest and largest values so far
        self.high = float("-inf")

    def append(self, x: int, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1
        if y < self.low:
            self.low = y
        if y > self.high:
            self.high = y

    @property
    def x(self) -> np.ndarray:
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self.n]

    @property
    def last(self) -> float | None:
        return float(self._y[self.n - 1]) if self.n else None

    def __len__(self) -> int:
        return self.n


class RunHistory:
    """Every value a run reported, by kind and name, and where the run stands."""

    KINDS = ("loss", "group_loss", "lr", "val", "accuracy")

    def __init__(self, start: dict[str, Any]) -> None:
        self.start = start
        self.total_steps: int = start["total_steps"]
        self.steps_per_epoch: int = start["steps_per_epoch"]
        self.first_step: int = start.get("step", 0)
        self.losses: list[str] = list(start["losses"])
        self.groups: list[str] = list(start["groups"])
        self.series: dict[str, dict[str, Series]] = {k: {} for k in self.KINDS}
        self.steps_done = self.first_step
        self.epoch = 0
        self.elapsed = 0.0
        self.changed: set[tuple[str, str]] = set()  # (kind, name) appended since last taken

    def get(self, kind: str, name: str) -> Series:
        table = self.series[kind]
        if name not in table:
            table[name] = Series()
        return table[name]

    def _add(self, kind: str, name: str, x: int, y: float | None) -> None:
        if y is None:
            return
        self.get(kind, name).append(x, y)
        self.changed.add((kind, name))

    def add(self, event: dict[str, Any]) -> None:
        """One step or epoch event (others are ignored)."""
        kind = event.get("kind")
        if kind == "step":
            step = event["step"]
            for name, value in event["loss"].items():
                self._add("loss", name, step, value)
            for name, value in event["group_loss"].items():
                self._add("group_loss", name, step, value)
            for name, value in (event.get("lr") or {}).items():
                self._add("lr", name, step, value)
            self.steps_done = step + 1
            self.epoch = event["epoch"]
            self.elapsed = event.get("elapsed", self.elapsed)
        elif kind == "epoch":
            x = event["step"] + 1  # validated after this step: drawn at the epoch's end
            for name, value in event.get("val", {}).items():
                self._add("val", name, x, value)
            for name, value in event.get("accuracy", {}).items():
                self._add("accuracy", name, x, value)

    def take_changed(self) -> set[tuple[str, str]]:
        changed, self.changed = self.changed, set()
        return changed

    def last(self, kind: str, name: str) -> float | None:
        series = self.series[kind].get(name)
        return series.last if series is not None else None
