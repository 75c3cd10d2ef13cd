"""Arrays a data file (or a folder of .npy files) holds and the class folders of an image
folder, read without torch (but for a .pt file), so that checking a graph stays light:
composer.catalogue.datafiles peeks with these very readers, and training converts what they
return.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from composer.runtime.errors import DataSourceError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm")


def load_arrays(path: Path, x_key: str, y_key: str | None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """The x and y arrays (y None without a y_key) of a .npz or .pt file, or of the .npy files
    of a folder (`<x_key>.npy`, `<y_key>.npy`), or of one .npy file when there is no y. A .npy
    array comes memory-mapped: nothing is read until rows are indexed."""
    path = Path(path)
    if path.is_dir() or path.suffix == ".npy":
        return _npy_arrays(path, x_key, y_key)
    arrays = _read_arrays(path)
    keys = (x_key,) if y_key is None else (x_key, y_key)
    for key in keys:
        if key not in arrays:
            have = ", ".join(sorted(map(str, arrays))) or "nothing"
            raise DataSourceError(None, f"{str(path)!r} has no array {key!r}; it has: {have}")
    x = _numbers(path, x_key, arrays[x_key])
    if y_key is None:
        return x, None
    y = _numbers(path, y_key, arrays[y_key])
    if len(x) != len(y):
        raise DataSourceError(None, f"{str(path)!r}: {x_key} has {len(x)} rows but {y_key} "
                                    f"has {len(y)}")
    return x, y


def _npy_arrays(path: Path, x_key: str, y_key: str | None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """x and y memory-mapped from `<key>.npy` files of a folder, or x from one .npy file."""
    if not path.is_dir():
        if y_key is not None:
            raise DataSourceError(None, f"{str(path)!r} is one .npy file, which holds one "
                                        "array: set y_key to null, or name a folder holding "
                                        f"{x_key}.npy and {y_key}.npy")
        return _npy(path, x_key), None
    files = [path / f"{key}.npy" for key in (x_key, y_key) if key is not None]
    for file in files:
        if not file.is_file():
            have = ", ".join(sorted(f.name for f in path.glob("*.npy"))) or "no .npy file"
            raise DataSourceError(None, f"folder {str(path)!r} has no {file.name}; it has: "
                                        f"{have}")
    x = _npy(files[0], x_key)
    if y_key is None:
        return x, None
    y = _npy(files[1], y_key)
    if len(x) != len(y):
        raise DataSourceError(None, f"{str(files[0])!r} has {len(x)} rows but "
                                    f"{str(files[1])!r} has {len(y)}; they need one row per "
                                    "sample each")
    return x, y


def _npy(file: Path, key: str) -> np.ndarray:
    if not file.is_file():
        raise DataSourceError(None, f"data file {str(file)!r} does not exist")
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # numpy says what is wrong: a bad header, pickled objects
        raise DataSourceError(None, f"cannot read {str(file)!r} as .npy: {e}") from e
    return _numbers(file, key, array)


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
        raise DataSourceError(None, f"{str(path)!r}: expected a .npz, .pt or .npy file, or a "
                                    "folder of .npy files")
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
        array = value if isinstance(value, np.ndarray) else np.asarray(value)  # keeps a memmap
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
