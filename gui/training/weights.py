"""Saving and loading trained weights: a model's state_dict in a torch file.

Loading never unpickles code (`weights_only=True`) and refuses, naming the keys, a file whose
tensors do not fit the graph: weights loaded into the wrong places would be a model that lies.
No Qt here; torch is imported when first needed.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

SHOWN = 4  # keys named per kind of mismatch before "and N more"


class WeightsError(ValueError):
    """A weights file that cannot be read or does not fit the graph; says which keys."""


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


def read_weights(path: str | Path) -> dict[str, Any]:
    """The state_dict in a weights file, tensors only. Raises WeightsError."""
    import torch

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise WeightsError(f"{path}: no such file") from e
    except pickle.UnpicklingError as e:
        raise WeightsError(f"{path} holds Python objects besides tensors; they are not loaded, "
                           "as that could run code") from e
    except Exception as e:  # a file torch cannot read
        raise WeightsError(f"{path} is not a weights file torch can read safely: {e}") from e
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise WeightsError(f"{path} does not hold a state_dict (a dict of named tensors)")
    return state


def mismatch(expected: dict[str, Any], given: dict[str, Any]) -> str | None:
    """What keeps `given` from loading where `expected` is, or None when it fits."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [f"{k} is {_shape(given[k])} in the file but {_shape(expected[k])} in the graph"
              for k in expected if k in given and _shape(given[k]) != _shape(expected[k])]
    parts = []
    if missing:
        parts.append(f"missing {_names(missing)}")
    if unexpected:
        parts.append(f"not in this graph: {_names(unexpected)}")
    if shapes:
        parts.append(_names(shapes))
    return "; ".join(parts) or None


def load_into(model: Any, path: str | Path) -> Any:
    """Loads a weights file into the model (in place); raises WeightsError on any mismatch."""
    state = read_weights(path)
    problem = mismatch(model.state_dict(), state)
    if problem:
        raise WeightsError(f"{Path(path).name} does not fit this graph: {problem}")
    model.load_state_dict(state)
    return model


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return "a non-tensor" if shape is None else f"[{', '.join(str(d) for d in shape)}]"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
