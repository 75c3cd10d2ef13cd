"""Shapes of file-based data (.npz/.pt arrays, image folders) for shape inference, read with
the runtime's own loaders, so inference and training see the same arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from composer.catalogue.base import DataOutput
from composer.errors import DataError
from composer.runtime.data import image_folder_classes, load_arrays
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
