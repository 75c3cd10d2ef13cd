"""Weights a user chose, read safely and held to the model they are meant for.

Weights loaded into the wrong places would be a model that lies, so every place that loads
them (the application's Load Weights, ONNX export) reads with `read_weights` and refuses, naming
the keys, what `mismatch` finds. No Qt here; torch is imported when first needed.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from composer.errors import ComposerError

SHOWN = 4  # keys named per kind of mismatch before "and N more"


class WeightsError(ComposerError, ValueError):
    """A weights file that cannot be read or does not fit the graph; says which keys."""


def read_weights(path: str | Path) -> dict[str, Any]:
    """The state_dict in a weights file (a saved state_dict, or a training checkpoint's
    model), read without executing anything. Raises WeightsError."""
    import torch

    from composer.runtime.checkpoint import CHECKPOINT_FORMAT

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise WeightsError(f"{path}: no such file") from e
    except pickle.UnpicklingError as e:
        raise WeightsError(f"{path} holds Python objects besides tensors; they are not loaded, "
                           "as that could run code") from e
    except Exception as e:  # a file torch cannot read
        raise WeightsError(f"{path} is not a weights file torch can read safely: {e}") from e
    if isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT:
        state = state.get("model")
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


def load_weights(model: Any, state: dict[str, Any], name: str) -> Any:
    """Loads `state` into the model (in place); WeightsError naming `name` and the keys on any
    mismatch."""
    problem = mismatch(model.state_dict(), state)
    if problem:
        raise WeightsError(f"{name} does not fit this graph: {problem}")
    model.load_state_dict(state)
    return model


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return "a non-tensor" if shape is None else f"[{', '.join(str(d) for d in shape)}]"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
