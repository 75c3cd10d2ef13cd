"""Shape inference on meta tensors: nothing is allocated, nothing is computed.

Each node's module is built from the same source code generation writes, and its forward
expression is evaluated on meta tensors, so the shapes shown are the shapes that will train.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from composer import catalogue
from composer.catalogue.base import NodeType
from composer.errors import DataError
from composer.graph import Graph, Node

BATCH = 2  # the batch size inference runs with; shown as B


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]  # including the batch
    dtype: str = "float32"
    classes: int | None = None  # for labels, when the data source knows

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype.startswith("float")

    def __str__(self) -> str:
        return format_shape(self.shape) + ("" if self.is_float else f" {self.dtype}")


def format_shape(shape: Iterable[int]) -> str:
    """`[B,16,8,8]`: the batch dimension shown as B."""
    dims = list(shape)
    if not dims:
        return "scalar"
    return "[" + ",".join(["B"] + [str(d) for d in dims[1:]]) + "]"


@dataclass
class ShapeProblem:
    node: str
    port: str | None
    message: str
    param: str | None = None


@dataclass
class Shapes:
    """Inferred shapes of every output port that could be computed, and what went wrong."""

    outputs: dict[tuple[str, str], TensorInfo] = field(default_factory=dict)
    inputs: dict[str, dict[str, TensorInfo]] = field(default_factory=dict)
    problems: list[ShapeProblem] = field(default_factory=list)
    param_counts: dict[str, int] = field(default_factory=dict)

    def output(self, node: str, port: str) -> TensorInfo | None:
        return self.outputs.get((node, port))


def topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm, ties broken by file order. Nodes on a cycle are left out."""
    indegree = {n: 0 for n in graph.nodes}
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.src in indegree and e.dst in indegree:
            indegree[e.dst] += 1
            children[e.src].append(e.dst)
    position = {n: i for i, n in enumerate(graph.nodes)}
    ready = sorted((n for n, d in indegree.items() if d == 0), key=position.__getitem__)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for c in children[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
        ready.sort(key=position.__getitem__)
    return order


_torch: Any = None


def _namespace() -> dict[str, Any]:
    """What emitted source may refer to. torch is imported on first use, not at start-up."""
    global _torch
    if _torch is None:
        import torch

        _torch = torch
    import torch.nn.functional as F
    from torch import nn

    from composer.runtime import layers

    ns = {"torch": _torch, "nn": nn, "F": F}
    ns.update({k: v for k, v in vars(layers).items() if not k.startswith("__")})
    return ns


_CACHE: OrderedDict[Any, Any] = OrderedDict()
_CACHE_SIZE = 8192
_CODE: dict[str, Any] = {}


def _compiled(source: str):
    code = _CODE.get(source)
    if code is None:
        code = _CODE[source] = compile(source, "<node>", "eval")
    return code


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _meta(info: TensorInfo):
    dtype = getattr(_torch, info.dtype)
    return _torch.empty(info.shape, dtype=dtype, device="meta")


def _run_node(t: NodeType, params: dict[str, Any],
              inputs: dict[str, TensorInfo]) -> tuple[TensorInfo, int]:
    """Output info and parameter count of one node; raises with a readable message."""
    ns = _namespace()
    module = None
    count = 0
    if t.module is not None:
        source = t.module(params, {p: i.shape for p, i in inputs.items()})
        with _torch.device("meta"):
            module = eval(_compiled(source), ns)  # source built from validated literals
        count = sum(p.numel() for p in module.parameters())
    args = {port: f"_in_{port}" for port in inputs}
    expr = t.forward(params, args, "_m")
    local = {f"_in_{port}": _meta(info) for port, info in inputs.items()}
    local["_m"] = module
    local["self"] = types.SimpleNamespace(training=True)
    out = eval(_compiled(expr), ns, local)
    return TensorInfo(tuple(out.shape), str(out.dtype).removeprefix("torch.")), count


def infer_node(t: NodeType, params: dict[str, Any],
               inputs: dict[str, TensorInfo]) -> tuple[TensorInfo | None, int, str | None, str | None]:
    """(output, parameter count, problem port, problem message), memoised.

    The declaration's `check` runs first, for messages in the user's terms; evaluation on meta
    tensors catches whatever it does not foresee.
    """
    key = (t.id, _freeze(params), _freeze({p: (i.shape, i.dtype) for p, i in inputs.items()}))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    problem = t.check(params, inputs) if t.check else None
    if problem:
        result = (None, 0, problem[0], problem[1])
    else:
        try:
            info, count = _run_node(t, params, inputs)
            result = (info, count, None, None)
        except Exception as e:  # torch's own message, with what arrived
            arrived = ", ".join(f"{p} is {i}" for p, i in inputs.items())
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            result = (None, 0, None, f"{message} ({arrived})" if arrived else message)
    _CACHE[key] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def _data_outputs(node: Node, t: NodeType, graph: Graph, shapes: Shapes) -> None:
    try:
        outs = t.data(node.resolved_params(), graph.base_dir)
    except DataError as e:
        shapes.problems.append(ShapeProblem(node.id, None, str(e)))
        return
    for port, out in outs.items():
        shapes.outputs[(node.id, port)] = TensorInfo((BATCH, *out.shape), out.dtype, out.classes)


def infer(graph: Graph) -> Shapes:
    """Shapes of every output that can be inferred. Unwired or broken upstream nodes are
    skipped quietly: their own problem is reported once, where it is."""
    _namespace()
    shapes = Shapes()
    for node_id in topological_order(graph):
        node = graph.nodes[node_id]
        t = catalogue.get(node.type)
        if t is None:
            continue
        if t.is_data:
            _data_outputs(node, t, graph, shapes)
            continue
        params = node.resolved_params()
        inputs: dict[str, TensorInfo] = {}
        complete = True
        for port in t.input_ports(params):
            edge = graph.edge_into(node_id, port.name)
            info = shapes.output(edge.src, edge.src_port) if edge else None
            if info is not None:
                inputs[port.name] = info
            elif edge is not None or not port.optional:
                complete = False
        if not complete:
            continue
        shapes.inputs[node_id] = inputs
        info, count, port, message = infer_node(t, params, inputs)
        if info is None:
            shapes.problems.append(ShapeProblem(node_id, port, message or "cannot infer"))
            continue
        shapes.outputs[(node_id, t.outputs[0].name)] = info
        if node.shares is None:
            shapes.param_counts[node_id] = count
    return shapes
