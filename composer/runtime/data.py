"""Data sources for training: torch, numpy and scikit-learn only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from composer.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm")


def load_arrays(path: Path, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The x and y arrays of a .npz or .pt file, with messages that say what is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(None, f"data file {str(path)!r} does not exist")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except Exception as e:
            raise DataError(None, f"cannot read {str(path)!r} as .npz: {e}") from e
    elif path.suffix == ".pt":
        import torch

        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise DataError(None, f"cannot read {str(path)!r} as a tensor file: {e}") from e
        if not isinstance(loaded, dict):
            raise DataError(None, f"{str(path)!r} holds a {type(loaded).__name__}, "
                                  "expected a dict of tensors")
        arrays = {k: np.asarray(v) for k, v in loaded.items()}
    else:
        raise DataError(None, f"{str(path)!r}: expected a .npz or .pt file")
    for key in (x_key, y_key):
        if key not in arrays:
            have = ", ".join(sorted(arrays)) or "nothing"
            raise DataError(None, f"{str(path)!r} has no array {key!r}; it has: {have}")
    x, y = arrays[x_key], arrays[y_key]
    if len(x) != len(y):
        raise DataError(None, f"{str(path)!r}: {x_key} has {len(x)} rows but {y_key} has "
                              f"{len(y)}")
    return x, y


def peek_tensor_file(path: Path, x_key: str, y_key: str):
    """Shapes and dtypes of a tensor file's arrays, for shape inference."""
    from composer.catalogue.base import DataOutput

    x, y = load_arrays(path, x_key, y_key)
    if np.issubdtype(y.dtype, np.integer):
        classes = int(y.max()) + 1 if y.size else 0
        y_out = DataOutput(tuple(y.shape[1:]), "int64", classes=classes)
    else:
        y_out = DataOutput(tuple(y.shape[1:]))
    return {"x": DataOutput(tuple(x.shape[1:])), "y": y_out}


def peek_image_folder(path: Path) -> int:
    """How many classes (sub-folders holding images) an image folder has."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(None, f"image folder {str(path)!r} does not exist")
    classes = [d for d in sorted(path.iterdir()) if d.is_dir()]
    if not classes:
        raise DataError(None, f"image folder {str(path)!r} has no class sub-folders")
    return len(classes)
