"""What flows through a port, and which kinds may feed which: the one table of port kinds.

Wiring refuses a wire by these kinds before any shape is known, quick-add offers the types
whose ports fit, the canvas colours ports by them, and shape rules name what a port takes.
"""

from __future__ import annotations

from typing import Any

# How messages name what a port of each kind takes, and what arrives from one.
TAKES = {
    "map": "feature maps [B,C,H,W]",
    "vector": "vectors [B,F]",
    "label": "class ids [B] int64",
    "boxes": "boxes [B,4] (x0,y0,x1,y1)",
}
PLURAL = {"map": "feature maps", "vector": "vectors", "boxes": "boxes", "label": "class ids",
          "tensor": "float tensors", "same": "float tensors"}

# Input kind -> the output kinds that may feed it. "same" and "tensor" outputs carry whatever
# arrives or is inferred, so they may feed anything but labels; shapes decide the rest.
ACCEPTS: dict[str, frozenset[str]] = {
    "map": frozenset({"map", "same", "tensor"}),
    "vector": frozenset({"vector", "boxes", "same", "tensor"}),
    "boxes": frozenset({"boxes", "vector", "same", "tensor"}),
    "label": frozenset({"label"}),
    "tensor": frozenset({"map", "vector", "boxes", "same", "tensor"}),
    "loss": frozenset(),
}
# The usual repair when an output of one kind meets an input of another.
_BETWEEN = {("map", "vector"): "add a layer.flatten between",
            ("vector", "map"): "add a layer.reshape between",
            ("boxes", "map"): "add a layer.reshape between"}


def accepts(input_kind: str, output_kind: str) -> bool:
    """Whether an output of `output_kind` may be wired to an input of `input_kind`."""
    return output_kind in ACCEPTS.get(input_kind, ACCEPTS["tensor"])


def refusal(output_kind: str, input_kind: str, target: str) -> str | None:
    """Why an output of one kind cannot feed `target` (an input of the other), or None."""
    if accepts(input_kind, output_kind):
        return None
    if output_kind == "loss":
        return ("a loss's scalar output feeds nothing: it belongs in an optimiser group's "
                "losses")
    if output_kind == "label":
        return (f"labels (class ids) cannot feed {target}: it takes float values; wire them to "
                "a loss's target")
    if input_kind == "label":
        return (f"{target} takes class ids [B] int64, not {PLURAL[output_kind]}: wire a data "
                "node's y here")
    fix = _BETWEEN.get((output_kind, input_kind), "check what the node before it outputs")
    takes = TAKES.get(input_kind, "no wire")
    return f"{target} takes {takes}, not {PLURAL[output_kind]}: {fix}"


def kind_of(info: Any) -> str:
    """The kind of an inferred tensor: map for 4-D float, vector for 2-D float, label for
    int64 [B], loss for a scalar, tensor otherwise."""
    if info.rank == 0:
        return "loss"
    if info.is_float and info.rank == 4:
        return "map"
    if info.is_float and info.rank == 2:
        return "vector"
    if not info.is_float and info.rank == 1:
        return "label"
    return "tensor"
