"""Shape rules in the user's terms, shared by the catalogue's `check` functions.

Each rule returns `(port, detail)` for the first problem or None. The detail reads after the
type and node id: `merge.concat c1: in1 is [B,32,7,7] but in0 is ...`, or, when it starts with
"expects", as one sentence: `layer.conv2d c1 expects feature maps [B,C,H,W] but in is [B,10]`.
Inputs are TensorInfo-like objects (`shape`, `dtype`, `classes`, `rank`, `is_float`, `str()`);
rules skip ports that are absent, so a half-wired node can be checked port by port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from composer.catalogue.kinds import TAKES

Problem = tuple[str | None, str] | None


def describe(info: Any) -> str:
    """`[B,10]`, `[B] int64 (class ids)`, `a scalar loss`: what arrived, for messages."""
    if info.rank == 0:
        return "a scalar loss"
    text = str(info)
    if not info.is_float and info.rank == 1:
        text += " (class ids)"
    return text


def _fix(kind: str, info: Any) -> str:
    """The usual repair when `info` arrives at a port of `kind`."""
    if info.rank == 0:
        return ": a loss feeds no node; list it in an optimiser group's losses instead"
    if kind in ("map", "vector", "boxes", "tensor") and not info.is_float:
        return ": class ids cannot feed layers; wire them to a loss's target"
    if kind == "map":
        return ": add a layer.reshape before it"
    if kind == "vector" and info.rank == 4:
        return ": add a layer.flatten before it"
    if kind == "vector":
        return ": add a layer.flatten or layer.reshape before it"
    if kind == "label":
        return ": wire a data node's y (labels) here"
    return ""


def kind_problem(kind: str, port: str, info: Any) -> Problem:
    """The generic rule of a port kind: map = 4-D float, vector = 2-D float, label = int64 [B],
    boxes = float [B,4], anything else float (not a scalar loss)."""
    if kind == "map":
        ok = info.rank == 4 and info.is_float
    elif kind == "vector":
        ok = info.rank == 2 and info.is_float
    elif kind == "label":
        ok = info.rank == 1 and info.dtype == "int64"
    elif kind == "boxes":
        ok = info.rank == 2 and info.shape[1] == 4 and info.is_float
    else:
        ok = info.rank > 0 and info.is_float
    if ok:
        return None
    wanted = TAKES.get(kind, "float values")
    return port, f"expects {wanted} but {port} is {describe(info)}{_fix(kind, info)}"


def inputs_problem(ports: tuple, inputs: Mapping[str, Any]) -> Problem:
    """The first input that breaks its port's kind rule."""
    for port in ports:
        info = inputs.get(port.name)
        if info is not None:
            problem = kind_problem(port.kind, port.name, info)
            if problem:
                return problem
    return None


# --- rules the declarations use ---------------------------------------------------------------

AT_LEAST_2D = tuple(range(2, 10))  # a batch and at least one more dimension

def ranks(port: str, info: Any, allowed: tuple[int, ...], wanted: str, fix: str) -> Problem:
    if info is None or info.rank in allowed:
        return None
    return port, f"expects {wanted} but {port} is {describe(info)}: {fix}"


def same_shapes(inputs: Mapping[str, Any], what: str, broadcast: bool = False) -> Problem:
    """Every input of one shape (or, with `broadcast`, equal or 1 in each dim of one rank)."""
    items = list(inputs.items())
    if not items:
        return None
    first_port, first = items[0]
    for port, info in items[1:]:
        if info.shape == first.shape:
            continue
        if broadcast and info.rank == first.rank and all(
                a == b or a == 1 or b == 1 for a, b in zip(info.shape, first.shape, strict=True)):
            continue
        rule = ("shapes must match, or be 1 where they differ" if broadcast
                else "the shapes must match")
        return port, f"{port} is {info} but {first_port} is {first}; {rule} ({what})"
    return None


def all_but(inputs: Mapping[str, Any], dim: int) -> Problem:
    """Every input of one rank, equal in every dimension except `dim` (concatenation)."""
    items = list(inputs.items())
    if not items:
        return None
    first_port, first = items[0]
    if dim >= first.rank:
        return None if first.rank == 0 else (
            None, f"dim is {dim} but {first_port} is {first} with {first.rank} dims; "
                  f"choose a dim from 1 to {first.rank - 1}")
    for port, info in items[1:]:
        pairs = enumerate(zip(info.shape, first.shape, strict=False))
        same = info.rank == first.rank and all(a == b for i, (a, b) in pairs if i != dim)
        if not same:
            return port, (f"{port} is {info} but {first_port} is {first}; all dims but {dim} "
                          "must match")
    return None


def loss_pair(name: str, inputs: Mapping[str, Any], broadcasts: bool = True) -> Problem:
    """pred and target of one shape: torch would broadcast [B,1] against [B] silently."""
    pred, target = inputs.get("pred"), inputs.get("target")
    if pred is None or target is None or pred.shape == target.shape:
        return None
    why = f" ({name} would broadcast them)" if broadcasts else ""
    return "target", f"pred is {pred} but target is {target}; the shapes must match{why}"


def window(port: str, info: Any, kernel: int, padding: int, what: str, fix: str) -> Problem:
    """A kernel or pooling window `kernel` wide that does not fit in the (padded) map."""
    if info is None or info.rank != 4:
        return None
    height, width = info.shape[2], info.shape[3]
    if kernel > min(height, width) + 2 * padding:
        return port, (f"{what} is larger than {port}'s {height}x{width} map plus padding "
                      f"{padding}: {fix}")
    return None


def divisors(n: int) -> str:
    found = [str(d) for d in range(1, n + 1) if n % d == 0]
    return ", ".join(found[:-1]) + f" or {found[-1]}" if len(found) > 1 else found[0]
