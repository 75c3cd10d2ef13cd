"""What file-based data (.npz/.pt/.npy arrays, tables, image folders) holds, for shape
inference and the checks, read with the runtime's own loaders, so they and training see the
same arrays."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from composer.catalogue.base import DataOutput
from composer.errors import DataError
from composer.runtime.arrays import IMAGE_SUFFIXES, image_folder_classes, load_arrays
from composer.runtime.errors import DataSourceError
from composer.runtime.table import Table, read_table


def peek_tensor_file(path: Path, x_key: str, y_key: str | None) -> dict[str, DataOutput]:
    """Shapes and dtypes of a tensor file's x and y, as training will convert them. Of a
    memory-mapped .npy, only the header of x is read (and y, for its class count)."""
    try:
        x, y = load_arrays(path, x_key, y_key)
    except DataSourceError as e:
        raise DataError(e.node, e.detail) from e
    found = {"x": DataOutput(tuple(x.shape[1:]))}
    if y is None:
        return found
    if np.issubdtype(y.dtype, np.integer):
        if y.size and y.min() < 0:
            raise DataError(None, f"{y_key} holds class ids from {int(y.min())}, in "
                                  f"{str(path)!r}; class ids count from 0")
        classes = int(y.max()) + 1 if y.size else 0
        found["y"] = DataOutput(tuple(y.shape[1:]), "int64", classes=classes)
    else:
        found["y"] = DataOutput(tuple(y.shape[1:]))
    return found


def peek_table(path: Path, params: dict[str, Any]) -> dict[str, DataOutput]:
    """x's width (one-hot columns counted) and y's kind and class count of a data.csv node."""
    table = _table(path, params)
    x = DataOutput((table.arrays["x"].shape[1],))
    if table.classes is None:
        return {"x": x, "y": DataOutput((1,))}
    return {"x": x, "y": DataOutput((), "int64", classes=len(table.classes))}


def count_table_rows(path: Path, params: dict[str, Any]) -> int | None:
    """How many rows a table has; None when it cannot be read (inference says why)."""
    try:
        return len(_table(path, params).arrays["y"])
    except DataError:
        return None


def _table(path: Path, params: dict[str, Any]) -> Table:
    """The table as training reads it; shape inference and the checks ask for the same one in
    turn, so the last few are kept while the file stays as it was."""
    try:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        stamp = None
    features = params["features"]
    found = _read_table(str(path), stamp, params["target"],
                        None if features is None else tuple(features), params["task"],
                        tuple(params["categorical"]))
    if isinstance(found, DataSourceError):
        raise DataError(found.node, found.detail, found.param) from found
    return found


@functools.lru_cache(maxsize=8)
def _read_table(path: str, stamp: Any, target: str, features: tuple[str, ...] | None,
                task: str, categorical: tuple[str, ...]) -> Table | DataSourceError:
    try:
        return read_table(None, Path(path), target, features, task, categorical)
    except DataSourceError as e:
        return e


def peek_image_folder(path: Path) -> int:
    """How many classes (sub-folders) an image folder has."""
    try:
        return len(image_folder_classes(None, path))
    except DataSourceError as e:
        raise DataError(e.node, e.detail) from e


MAX_SCANNED_IMAGES = 20_000  # beyond this, image headers are left to training to find


def count_tensor_rows(path: Path, x_key: str, y_key: str | None) -> int | None:
    """How many samples a tensor file holds; None when it cannot be read (inference says why)."""
    try:
        return len(load_arrays(path, x_key, y_key)[0])
    except DataSourceError:
        return None


def count_images(path: Path, headers: bool = True) -> tuple[int | None, list[str]]:
    """How many images the class folders hold, and the files whose header no image reader
    recognises (training would stop at them; looked for only when `headers`); None when the
    folder cannot be read."""
    try:  # names, not Paths: sorting 100,000 Paths alone takes a second
        files = [f"{folder.name}/{name}" for folder in image_folder_classes(None, path)
                 for name in sorted(e.name for e in os.scandir(folder))
                 if name.lower().endswith(IMAGE_SUFFIXES)]
    except (DataSourceError, OSError):
        return None, []
    if len(files) > MAX_SCANNED_IMAGES or not headers:
        return len(files), []
    from PIL import Image

    unreadable = []
    for f in files:
        try:
            with Image.open(path / f):
                pass
        except Exception:  # PIL raises several kinds for a file that is not an image
            unreadable.append(f)
    return len(files) - len(unreadable), unreadable
