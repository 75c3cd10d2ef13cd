"""Runs side by side: what differs between their graphs (composer/graph_diff.py) and a table
of their final metrics, as `composer runs --diff` prints them and the window's Compare shows."""

from __future__ import annotations

from dataclasses import dataclass

from composer.graph_diff import diff_graphs
from composer.runs import Run, RunRecord


@dataclass
class Comparison:
    runs: list[Run]
    differences: list[str]  # from the first run's graph to the second's
    header: list[str]  # "metric", then each run's id
    rows: list[list[str]]  # a metric's name, then its value in each run ("-" when absent)


def compare(a: Run, b: Run) -> Comparison:
    """Raises GraphFormatError when a run's graph.json cannot be read."""
    return Comparison([a, b], diff_graphs(a.graph(), b.graph()), ["metric", a.id, b.id],
                      metric_rows([a.record, b.record]))


def metric_rows(records: list[RunRecord]) -> list[list[str]]:
    """Status, steps, duration, then each loss node's last training value, validation loss
    and accuracy, for every loss node any of the runs reported (in their order)."""
    rows = [["status", *(r.status for r in records)],
            ["steps", *(str(r.steps) for r in records)],
            ["duration", *(duration_text(r.duration_s) for r in records)],
            ["device", *(f"{r.device or '-'}" + (f" \u00d7 {r.processes}" if r.processes > 1
                                                   else "") for r in records)]]
    for kind, title, digits in (("loss", "train", 4), ("val", "val", 4),
                                ("accuracy", "accuracy", 3)):
        names = list(dict.fromkeys(n for r in records for n in r.final.get(kind, {})))
        for name in names:
            rows.append([f"{title} {name}",
                         *(number_text(r.metric(kind, name), digits) for r in records)])
    return rows


def key_metric(record: RunRecord) -> str:
    """The one figure a list of runs shows: the first accuracy, else the first validation
    loss, else the first training loss."""
    for kind, title, digits in (("accuracy", "acc", 3), ("val", "val", 4), ("loss", "loss", 4)):
        values = record.final.get(kind, {})
        if values:
            name, value = next(iter(values.items()))
            return f"{name} {title} {number_text(value, digits)}"
    return ""


def table_text(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    every = [header, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in every)


def number_text(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def duration_text(seconds: float) -> str:
    """`0.8 s`, `42 s`, `3 min 05 s`, `2 h 04 min`."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
