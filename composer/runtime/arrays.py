"""Arrays a data file holds and the class folders of an image folder, read without torch
(but for a .pt file), so that checking a graph stays light: composer.catalogue.datafiles peeks
with these very readers, and training converts what they return.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from composer.runtime.errors import DataSourceError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm")


def load_arrays(path: Path, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The x and y arrays of a .npz or .pt file, with messages that say what is missing."""
    path = Path(path)
    arrays = _read_arrays(path)
    for key in (x_key, y_key):
        if key not in arrays:
            have = ", ".join(sorted(map(str, arrays))) or "nothing"
            raise DataSourceError(None, f"{str(path)!r} has no array {key!r}; it has: {have}")
    x, y = (_numbers(path, key, arrays[key]) for key in (x_key, y_key))
    if len(x) != len(y):
        raise DataSourceError(None, f"{str(path)!r}: {x_key} has {len(x)} rows but {y_key} "
                                    f"has {len(y)}")
    return x, y


def _read_arrays(path: Path) -> dict:
    """Name -> array of a .npz file, or name -> value of a .pt file holding a dict. Neither is
    read with pickle: a file that needs it is refused, since unpickling can run code."""
    if not path.is_file():
        raise DataSourceError(None, f"data file {str(path)!r} does not exist")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except Exception as e:
            raise DataSourceError(None, f"cannot read {str(path)!r} as .npz: {e}") from e
    if path.suffix != ".pt":
        raise DataSourceError(None, f"{str(path)!r}: expected a .npz or .pt file")
    import torch  # here, not at the top: reading a .npz file (checking a graph) needs none

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise DataSourceError(None, f"{str(path)!r} holds Python objects besides tensors; they "
                                    "are not loaded, as that could run code: save a dict of "
                                    "tensors") from e
    except Exception as e:
        raise DataSourceError(None, f"cannot read {str(path)!r} as a tensor file: {e}") from e
    if not isinstance(loaded, dict):
        raise DataSourceError(None, f"{str(path)!r} holds a {type(loaded).__name__}, "
                                    "expected a dict of tensors")
    return loaded


def _numbers(path: Path, key: str, value: object) -> np.ndarray:
    """An array of numbers with one row per sample, or a message saying what came instead."""
    try:
        array = np.asarray(value)
    except Exception as e:
        raise DataSourceError(None, f"{str(path)!r}: {key!r} is not an array: {e}") from e
    if array.ndim == 0:
        raise DataSourceError(None, f"{str(path)!r}: {key!r} is a single value; expected an "
                                    "array with one row per sample")
    if array.dtype.kind not in "biuf":
        kind = {"U": "text", "S": "bytes", "O": "object", "c": "complex"}.get(
            array.dtype.kind, str(array.dtype))
        raise DataSourceError(None, f"{str(path)!r}: {key!r} holds {kind} values; expected "
                                    "numbers")
    return array


def image_folder_classes(node: str | None, path: Path) -> list[Path]:
    """The class sub-folders of an image folder, in name order."""
    path = Path(path)
    if not path.is_dir():
        raise DataSourceError(node, f"image folder {str(path)!r} does not exist")
    classes = [d for d in sorted(path.iterdir()) if d.is_dir()]
    if not classes:
        raise DataSourceError(node, f"image folder {str(path)!r} has no class sub-folders")
    return classes
