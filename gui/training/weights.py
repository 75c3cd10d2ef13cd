"""Saving and loading trained weights: a model's state_dict in a torch file.

Reading and the fit check live in the core (composer.state_dicts), shared with ONNX export.
No Qt here; torch is imported when first needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from composer.state_dicts import WeightsError, load_weights, mismatch, read_weights

__all__ = ["WeightsError", "load_into", "mismatch", "read_weights", "save_weights"]


def save_weights(model: Any, path: str | Path) -> Path:
    """Writes the model's state_dict (keys `<node id>.<torch name>`) to `path`."""
    import torch

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")  # a failure half way leaves the old file whole
    try:
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_into(model: Any, path: str | Path) -> Any:
    """Loads a weights file into the model (in place); raises WeightsError on any mismatch."""
    return load_weights(model, read_weights(path), Path(path).name)
