"""Nodes that join branches."""

from __future__ import annotations

from composer.catalogue.base import NodeType, Port
from composer.params import Int

_INPUTS = Int("inputs", 2, "number of input ports", min=2, max=8)


def _numbered(p) -> tuple[Port, ...]:
    return tuple(Port(f"in{i}", "tensor") for i in range(p["inputs"]))


def _args(p, a) -> list[str]:
    return [a[f"in{i}"] for i in range(p["inputs"])]


def _feature_dim(shape: tuple[int, ...]) -> int:
    """Channels of a map [B,C,H,W], features of anything else (last dimension)."""
    return shape[1] if len(shape) == 4 else shape[-1]


TYPES = [
    NodeType(
        "merge.concat", "merge", "Joins inputs along `dim` (1: channels or features).",
        inputs=_numbered,
        params=(_INPUTS, Int("dim", 1, "dimension to join along", min=1, max=3)),
        forward=lambda p, a, m: f"torch.cat([{', '.join(_args(p, a))}], dim={p['dim']})",
        key_params=("dim",),
    ),
    NodeType(
        "merge.add", "merge", "Element-wise sum of same-shaped inputs.",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: " + ".join(_args(p, a)),
    ),
    NodeType(
        "merge.multiply", "merge", "Element-wise product of same-shaped inputs (gating).",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: " * ".join(_args(p, a)),
    ),
    NodeType(
        "merge.mean", "merge", "Element-wise mean of same-shaped inputs.",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: f"({' + '.join(_args(p, a))}) / {p['inputs']}",
    ),
    NodeType(
        "merge.attention", "merge",
        "Scaled dot-product attention of the query over the value; maps read as H*W vectors.",
        inputs=(Port("query", "tensor", doc="what attends; the output has its shape"),
                Port("value", "tensor", doc="what is attended to"),
                Port("key", "tensor", optional=True, doc="defaults to the value")),
        params=(Int("heads", 1, "attention heads; must divide the query's features",
                    min=1, max=64),),
        module=lambda p, s: (
            f"Attention({_feature_dim(s['query'])}, "
            f"{_feature_dim(s.get('key', s['value']))}, {_feature_dim(s['value'])}, "
            f"heads={p['heads']})"),
        forward=lambda p, a, m: (f"{m}({a['query']}, {a['value']}"
                                 + (f", {a['key']})" if "key" in a else ")")),
        runtime=("Attention", "_as_sequence"), key_params=("heads",),
    ),
]
