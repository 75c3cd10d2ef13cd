"""A sweep's record and its results table.

The runs of a sweep are ordinary runs (composer/runs.py), labelled with their value. The
sweep itself is a small file beside them, `<runs folder>/sweeps/<sweep id>.json`: the target,
the values, and which run trained each value. The results table is rebuilt from it and the
runs' own records, so it can be printed again later (`composer sweep FILE --show`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from composer.fileformat.atomic_write import write_text_atomic
from composer.graph_diff import value_text
from composer.run_compare import duration_text, number_text
from composer.runs import ID_FORMAT, RECORD_FILE, SWEEPS_DIR, Run, RunError, load_run

SWEEP_FORMAT = "composer-sweep"
# Metric kinds as run.json's `final` holds them, with the titles the tables give them.
METRIC_TITLES = {"val": "val", "accuracy": "accuracy", "loss": "train"}
ALIASES = {"train": "loss", "acc": "accuracy", "validation": "val"}


@dataclass
class SweepRecord:
    """What `sweeps/<id>.json` holds. `runs[i]` is the id of the run of `values[i]`, null
    until it starts (and for values a stopped sweep never reached)."""

    id: str
    started: str
    target: str  # `group disc: lr`
    values: list[Any]
    labels: list[str]
    runs: list[str | None]
    status: str = "running"  # running, finished (every run did), failed (one did not), stopped
    graph_file: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # steps, epochs, device given
    parallel: int = 1
    sort: str | None = None  # `val:clf_loss`, as given

    def to_dict(self) -> dict[str, Any]:
        return {"format": SWEEP_FORMAT, "version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> SweepRecord:
        if not isinstance(data, dict) or data.get("format") != SWEEP_FORMAT:
            raise RunError(f"{where}: not a sweep record (no \"format\": \"{SWEEP_FORMAT}\")")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            record = cls(**known)
        except TypeError as e:
            raise RunError(f"{where}: {e}") from e
        if not (len(record.values) == len(record.labels) == len(record.runs)):
            raise RunError(f"{where}: values, labels and runs differ in length")
        return record


def sweeps_folder(root: str | Path) -> Path:
    return Path(root) / SWEEPS_DIR


def new_sweep_file(root: str | Path, now: datetime | None = None) -> Path:
    """Creates `<root>/sweeps/<id>.json` (empty), named by the start time like a run."""
    folder = sweeps_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    stem = (now or datetime.now()).strftime(ID_FORMAT)
    for n in range(1, 10_000):
        path = folder / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
        try:
            path.open("x").close()
        except FileExistsError:
            continue
        return path
    raise RunError(f"{folder}: no free sweep id for {stem}")


def write_record(path: Path, record: SweepRecord) -> None:
    write_text_atomic(path, json.dumps(record.to_dict(), indent=2) + "\n")


def read_record(path: str | Path) -> SweepRecord:
    """Raises RunError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise RunError(f"{path}: cannot read: {e.strerror or e}") from e
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON (line {e.lineno})") from e
    return SweepRecord.from_dict(data, str(path))


def list_sweeps(root: str | Path) -> list[Path]:
    """The sweep records of a runs folder, newest first."""
    folder = sweeps_folder(root)
    return sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []


def find_sweep(root: str | Path, key: str | None) -> Path:
    """The newest sweep (key None), or the one with this id; raises RunError."""
    found = list_sweeps(root)
    if key is None and found:
        return found[0]
    for path in found:
        if path.stem == key:
            return path
    what = "no sweeps" if not found else f"no sweep {key!r} (there: " + \
        ", ".join(p.stem for p in found[:5]) + ")"
    raise RunError(f"{what} in {sweeps_folder(root)}")


# --- results -------------------------------------------------------------------------------
@dataclass
class Row:
    """One value of a sweep and what became of it."""

    value: Any
    label: str
    run: Run | None  # None until its run starts, or when its folder cannot be read
    status: str  # the run's; else queued, starting, "not run" (a stopped sweep's), missing

    def metric(self, kind: str, name: str) -> float | None:
        return self.run.record.metric(kind, name) if self.run is not None else None


def rows_of(record: SweepRecord, root: str | Path) -> list[Row]:
    """The record's values with their runs read from `root`, in the record's order."""
    rows = []
    for value, label, run_id in zip(record.values, record.labels, record.runs, strict=True):
        run, status = None, "queued" if record.status == "running" else "not run"
        if run_id is not None:
            try:
                run = load_run(Path(root) / run_id)
                status = run.record.status
            except RunError:  # its record is written as it starts; or the folder is gone
                folder = Path(root) / run_id
                status = "starting" if folder.is_dir() and not (folder / RECORD_FILE).exists() \
                    else "missing"
        rows.append(Row(value, label, run, status))
    return rows


def metric_columns(rows: list[Row]) -> list[tuple[str, str]]:
    """(kind, loss node) of every metric a run reported: validation losses, accuracies, then
    training losses, each in the order the runs reported them."""
    columns = []
    for kind in ("val", "accuracy", "loss"):
        names = dict.fromkeys(n for r in rows if r.run is not None
                              for n in r.run.record.final.get(kind, {}))
        columns += [(kind, name) for name in names]
    return columns


def parse_metric(text: str) -> tuple[str, str]:
    """`val:clf_loss`, `val clf_loss`, `accuracy:ce`, `train:mse` -> (kind, loss node);
    raises ValueError saying what it takes."""
    kind, _, name = text.replace(":", " ", 1).partition(" ")
    kind = ALIASES.get(kind.strip(), kind.strip())
    if kind not in METRIC_TITLES or not name.strip():
        raise ValueError(f"{text!r}: expected KIND:LOSS with KIND val, accuracy or train "
                         "(val:clf_loss)")
    return kind, name.strip()


def metric_title(metric: tuple[str, str]) -> str:
    return f"{METRIC_TITLES[metric[0]]} {metric[1]}"


def default_metric(rows: list[Row]) -> tuple[str, str] | None:
    """The first validation loss; else the first training loss."""
    columns = metric_columns(rows)
    return next((c for c in columns if c[0] == "val"),
                next((c for c in columns if c[0] == "loss"), None))


def descending(metric: tuple[str, str] | None) -> bool:
    """Accuracy is better higher; losses lower."""
    return metric is not None and metric[0] == "accuracy"


def sort_rows(rows: list[Row], metric: tuple[str, str] | None,
              reverse: bool | None = None) -> list[Row]:
    """Best first by `metric` (`reverse` None: accuracy descending, losses ascending);
    runs without the metric (failed, queued) last, in their order. `metric` None sorts by
    the value."""
    if metric is None:
        return sorted(rows, key=_value_key, reverse=bool(reverse))
    reverse = descending(metric) if reverse is None else reverse
    have = [r for r in rows if _finite(r.metric(*metric))]
    rest = [r for r in rows if not _finite(r.metric(*metric))]
    return sorted(have, key=lambda r: r.metric(*metric), reverse=reverse) + rest


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _value_key(row: Row) -> tuple:
    """Numbers by size, then anything else by its text."""
    value = row.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, value_text(value))


def table(rows: list[Row], columns: list[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """(header, cells): value, status, steps, duration, a column per metric, the run's id."""
    header = ["value", "status", "steps", "duration", *map(metric_title, columns), "run"]
    cells = []
    for r in rows:
        record = r.run.record if r.run is not None else None
        cells.append([
            value_text(r.value), r.status, str(record.steps) if record else "-",
            duration_text(record.duration_s) if record else "-",
            *(number_text(r.metric(*c), 3 if c[0] == "accuracy" else 4) for c in columns),
            r.run.id if r.run is not None else "-"])
    return header, cells
