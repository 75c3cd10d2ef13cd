"""A table (a CSV file) as arrays: x from the feature columns, numbers as they are and
categorical columns one-hot encoded, and y from the target column.

Read with Python's csv module and numpy only: checking a graph reads a table without torch, and
an exported script needs nothing more. Class ids and categories are the column's distinct values
in sorted (text) order, fixed by the whole file, so every split and every run agree on them.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.runtime.errors import DataSourceError

TASKS = ("classification", "regression")


@dataclass
class Table:
    arrays: dict[str, np.ndarray]  # x [N,F] float32; y [N] int64 ids or [N,1] float32
    classes: list[str] | None  # the target value each class id stands for (classification)
    columns: list[str]  # what each column of x holds: "name", or "name=value" when one-hot


@dataclass
class _Cells:
    """The file's text: header, columns of values, and the line each row ends on."""

    path: Path
    header: list[str]
    columns: list[tuple[str, ...]]
    lines: list[int]

    def column(self, node: str | None, name: str) -> list[str]:
        """A column's values, stripped; an empty one is named with its line."""
        values = [v.strip() for v in self.columns[self.header.index(name)]]
        if "" in values:
            raise self._empty(node, name, values.index(""))
        return values

    def _empty(self, node: str | None, name: str, i: int) -> DataSourceError:
        return DataSourceError(node, f"{str(self.path)!r}, line {self.lines[i]}, column "
                                     f"{name!r} is empty: fill it in or drop the row")

    def numbers(self, node: str | None, name: str, hint: str, param: str) -> np.ndarray:
        """A column as float64; a value that is no finite number is named with its line."""
        values = self.columns[self.header.index(name)]
        try:
            column = np.array(values, dtype=np.float64)  # float() allows spaces around
            bad = np.flatnonzero(~np.isfinite(column))
        except ValueError:
            bad = [i for i, v in enumerate(values) if not _is_number(v)]
        if len(bad):
            i = int(bad[0])
            if not values[i].strip():
                raise self._empty(node, name, i)
            raise DataSourceError(node, f"{str(self.path)!r}, line {self.lines[i]}, column "
                                        f"{name!r}: {values[i].strip()!r} is not a number; "
                                        f"{hint}", param)
        return column


def _is_number(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def read_table(node: str | None, path: Path, target: str, features: Sequence[str] | None,
               task: str, categorical: Sequence[str] = ()) -> Table:
    """The table's x and y. `features` None means every column but the target."""
    cells = _read_cells(node, Path(path))
    names = list(features) if features is not None else [c for c in cells.header if c != target]
    _check_columns(node, cells, target, names, list(categorical))
    blocks, columns = [], []
    for name in names:
        if name in categorical:
            values = cells.column(node, name)
            categories = sorted(set(values))
            blocks.append(_one_hot(values, categories))
            columns += [f"{name}={c}" for c in categories]
        else:
            hint = f"list {name} in categorical to one-hot encode the column"
            blocks.append(cells.numbers(node, name, hint, "categorical")[:, None])
            columns.append(name)
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    if task == "regression":
        hint = 'task "regression" needs numbers; "classification" takes any values'
        y = cells.numbers(node, target, hint, "task").astype(np.float32)[:, None]
        return Table({"x": x, "y": y}, None, columns)
    values = cells.column(node, target)
    classes = sorted(set(values))
    if len(classes) < 2:
        raise DataSourceError(node, f"{str(path)!r}: the target column {target!r} holds one "
                                    f"class ({classes[0]!r}); classification needs two or more",
                              "target")
    ids = {value: i for i, value in enumerate(classes)}
    y = np.array([ids[v] for v in values], dtype=np.int64)
    return Table({"x": x, "y": y}, classes, columns)


def _one_hot(values: list[str], categories: list[str]) -> np.ndarray:
    ids = {c: i for i, c in enumerate(categories)}
    out = np.zeros((len(values), len(categories)), dtype=np.float32)
    out[np.arange(len(values)), [ids[v] for v in values]] = 1.0
    return out


def _read_cells(node: str | None, path: Path) -> _Cells:
    if not path.is_file():
        raise DataSourceError(node, f"table file {str(path)!r} does not exist")
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            for row in reader:
                if row:  # not a blank line
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise DataSourceError(node, f"cannot read {str(path)!r} as UTF-8 text: {e}") from e
    except (OSError, csv.Error) as e:
        raise DataSourceError(node, f"cannot read {str(path)!r} as a CSV table: {e}") from e
    if not header:
        raise DataSourceError(node, f"{str(path)!r} is empty: expected a header row of column "
                                    "names")
    twice = next((n for i, n in enumerate(header) if n in header[:i]), None)
    if twice is not None:
        raise DataSourceError(node, f"{str(path)!r}: column {twice!r} appears twice in the "
                                    "header")
    if not rows:
        raise DataSourceError(node, f"{str(path)!r} has a header but no rows")
    width = len(header)
    short = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if short is not None:
        raise DataSourceError(node, f"{str(path)!r}, line {lines[short]}: {len(rows[short])} "
                                    f"values, but the header names {width} columns")
    return _Cells(path, header, list(zip(*rows, strict=True)), lines)


def _check_columns(node: str | None, cells: _Cells, target: str, features: list[str],
                   categorical: list[str]) -> None:
    named = [("target", target), *(("features", f) for f in features),
             *(("categorical", c) for c in categorical)]
    for param, name in named:
        if name not in cells.header:
            close = difflib.get_close_matches(name, cells.header, n=1, cutoff=0.6)
            guess = f"; did you mean {close[0]}?" if close else ""
            raise DataSourceError(node, f"{str(cells.path)!r} has no column {name!r}{guess} "
                                        f"(its columns: {', '.join(cells.header)})", param)
    if target in features:
        raise DataSourceError(node, f"the target {target!r} is also listed in features",
                              "features")
    if not features:
        raise DataSourceError(node, f"{str(cells.path)!r}: no feature columns besides the "
                                    f"target {target!r}", "features")
    outside = [c for c in categorical if c not in features]
    if outside:
        raise DataSourceError(node, f"categorical column {outside[0]!r} is not among the "
                                    "features", "categorical")
