"""Nodes that join branches."""

from __future__ import annotations

from composer.catalogue import rules, sizes
from composer.catalogue.base import NodeType, Port
from composer.params import WEIGHTS_INIT, Int

_INPUTS = Int("inputs", 2, "number of input ports", min=2, max=8)


def _numbered(p) -> tuple[Port, ...]:
    return tuple(Port(f"in{i}", "tensor") for i in range(p["inputs"]))


def _args(p, a) -> list[str]:
    return [a[f"in{i}"] for i in range(p["inputs"])]


def _feature_dim(shape: tuple[int, ...]) -> int:
    """Channels of a map [B,C,H,W], features of anything else (last dimension)."""
    return shape[1] if len(shape) == 4 else shape[-1]


def _positions(shape: tuple[int, ...]) -> int:
    """How many vectors attention reads from a tensor: H*W for maps, L for [B,L,F], 1 for [B,F]."""
    if len(shape) == 4:
        return shape[2] * shape[3]
    return shape[1] if len(shape) == 3 else 1


def _attention_weights(p, s) -> int:
    """nn.MultiheadAttention's: query, key and value projections (to the query's features)
    with biases, and the output projection."""
    e = _feature_dim(s["query"])
    k, v = _feature_dim(s.get("key", s["value"])), _feature_dim(s["value"])
    return e * (e + k + v) + 3 * e + e * e + e


def _elementwise(p, s):
    return sizes.broadcast(*(s[f"in{i}"] for i in range(p["inputs"])))


def _check_attention(p, inputs):
    for port in ("query", "value", "key"):
        problem = rules.ranks(port, inputs.get(port), (2, 3, 4),
                              "vectors [B,F], sequences [B,L,F] or maps [B,C,H,W]",
                              "add a layer.reshape before it")
        if problem:
            return problem
    query = inputs.get("query")
    if query is not None and _feature_dim(query.shape) % p["heads"]:
        features = _feature_dim(query.shape)
        return "query", (f"heads is {p['heads']} but the query has {features} features; heads "
                         f"must divide them ({rules.divisors(features)})")
    value, key = inputs.get("value"), inputs.get("key")
    if value is not None and key is not None and \
            _positions(key.shape) != _positions(value.shape):
        return "key", (f"key is {key} ({_positions(key.shape)} positions) but value is {value} "
                       f"({_positions(value.shape)}); key and value need as many positions")
    return None


TYPES = [
    NodeType(
        "merge.concat", "merge", "Joins inputs along `dim` (1: channels or features).",
        inputs=_numbered,
        params=(_INPUTS, Int("dim", 1, "dimension to join along", min=1, max=3)),
        forward=lambda p, a, m: f"torch.cat([{', '.join(_args(p, a))}], dim={p['dim']})",
        check=lambda p, inputs: rules.all_but(inputs, p["dim"]), keywords=("cat",),
        shape=lambda p, s: sizes.concat([s[f"in{i}"] for i in range(p["inputs"])], p["dim"]),
        key_params=("dim",),
    ),
    NodeType(
        "merge.add", "merge", "Element-wise sum of same-shaped inputs.",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: " + ".join(_args(p, a)),
        check=lambda p, inputs: rules.same_shapes(inputs, "add would broadcast them"),
        keywords=("sum", "plus"), shape=_elementwise,
    ),
    NodeType(
        "merge.multiply", "merge", "Element-wise product of same-shaped inputs (gating).",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: " * ".join(_args(p, a)),
        check=lambda p, inputs: rules.same_shapes(inputs, "a gate of size 1 may broadcast",
                                                  broadcast=True),
        shape=_elementwise,
    ),
    NodeType(
        "merge.mean", "merge", "Element-wise mean of same-shaped inputs.",
        inputs=_numbered, params=(_INPUTS,),
        forward=lambda p, a, m: f"({' + '.join(_args(p, a))}) / {p['inputs']}",
        check=lambda p, inputs: rules.same_shapes(inputs, "mean would broadcast them"),
        shape=_elementwise,
    ),
    NodeType(
        "merge.attention", "merge",
        "Scaled dot-product attention of the query over the value; maps read as H*W vectors.",
        inputs=(Port("query", "tensor", doc="what attends; the output has its shape"),
                Port("value", "tensor", doc="what is attended to"),
                Port("key", "tensor", optional=True, doc="defaults to the value")),
        params=(Int("heads", 1, "attention heads; must divide the query's features",
                    min=1, max=64), WEIGHTS_INIT),
        module=lambda p, s: (
            f"Attention({_feature_dim(s['query'])}, "
            f"{_feature_dim(s.get('key', s['value']))}, {_feature_dim(s['value'])}, "
            f"heads={p['heads']})"),
        forward=lambda p, a, m: (f"{m}({a['query']}, {a['value']}"
                                 + (f", {a['key']})" if "key" in a else ")")),
        check=_check_attention,
        shape=lambda p, s: s["query"], weights=_attention_weights,
        runtime=("Attention", "_as_sequence"), key_params=("heads",),
    ),
]
