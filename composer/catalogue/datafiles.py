"""What file-based data (.npz/.pt arrays, image folders) holds, for shape inference and the
checks, read with the runtime's own loaders, so they and training see the same arrays."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from composer.catalogue.base import DataOutput
from composer.errors import DataError
from composer.runtime.arrays import IMAGE_SUFFIXES, image_folder_classes, load_arrays
from composer.runtime.errors import DataSourceError


def peek_tensor_file(path: Path, x_key: str, y_key: str) -> dict[str, DataOutput]:
    """Shapes and dtypes of a tensor file's x and y, as training will convert them."""
    try:
        x, y = load_arrays(path, x_key, y_key)
    except DataSourceError as e:
        raise DataError(e.node, e.detail) from e
    if np.issubdtype(y.dtype, np.integer):
        if y.size and y.min() < 0:
            raise DataError(None, f"{y_key} holds class ids from {int(y.min())}, in "
                                  f"{str(path)!r}; class ids count from 0")
        classes = int(y.max()) + 1 if y.size else 0
        y_out = DataOutput(tuple(y.shape[1:]), "int64", classes=classes)
    else:
        y_out = DataOutput(tuple(y.shape[1:]))
    return {"x": DataOutput(tuple(x.shape[1:])), "y": y_out}


def peek_image_folder(path: Path) -> int:
    """How many classes (sub-folders) an image folder has."""
    try:
        return len(image_folder_classes(None, path))
    except DataSourceError as e:
        raise DataError(e.node, e.detail) from e


MAX_SCANNED_IMAGES = 20_000  # beyond this, image headers are left to training to find


def count_tensor_rows(path: Path, x_key: str, y_key: str) -> int | None:
    """How many samples a tensor file holds; None when it cannot be read (inference says why)."""
    try:
        return len(load_arrays(path, x_key, y_key)[1])
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
