"""Shape inference: each output's shape, dtype and each module's parameter count.

Every type of the catalogue declares plain-Python rules (`shape`, `weights`), so checking a
graph imports no torch; tests/test_shapes_match_forward.py holds each rule to a real forward
pass. A type without rules (a newcomer's) is evaluated instead: its module is built from the
source code generation writes and its forward run on meta tensors, nothing allocated.
"""

from __future__ import annotations

import heapq
import types
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer import catalogue
from composer.catalogue import rules
from composer.catalogue.base import NodeType
from composer.errors import DataError, GraphFormatError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Node

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


def edges_between_names(graph: Graph) -> list[Edge]:
    """The wires whose four ends are strings (a program may have set anything)."""
    return [e for e in graph.edges
            if all(isinstance(v, str) for v in (e.src, e.src_port, e.dst, e.dst_port))]


def topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm, ties broken by file order. Nodes on a cycle are left out."""
    position = {n: i for i, n in enumerate(graph.nodes)}
    indegree = dict.fromkeys(graph.nodes, 0)
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in edges_between_names(graph):
        if e.src in indegree and e.dst in indegree:
            indegree[e.dst] += 1
            children[e.src].append(e.dst)
    ready = [position[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    names = list(graph.nodes)
    order = []
    while ready:
        n = names[heapq.heappop(ready)]
        order.append(n)
        for c in children[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, position[c])
    return order


_torch: Any = None
_NAMESPACE: dict[str, Any] = {}


def _namespace() -> dict[str, Any]:
    """What emitted source may refer to. torch is imported here, on the first evaluation a type
    without a shape rule needs, never for a graph whose types all declare one."""
    global _torch
    if not _NAMESPACE:
        import importlib
        import pkgutil

        import torch
        import torch.nn.functional as F
        from torch import nn

        from composer import runtime

        _torch = torch
        _NAMESPACE.update({"torch": torch, "nn": nn, "F": F})
        wanted = {n for t in catalogue.all_types() for n in t.runtime}
        for info in pkgutil.iter_modules(runtime.__path__):  # a helper may live in any of them
            module = importlib.import_module(f"composer.runtime.{info.name}")
            _NAMESPACE.update({n: getattr(module, n) for n in wanted if hasattr(module, n)})
    return _NAMESPACE


_CACHE: OrderedDict[Any, Any] = OrderedDict()
_CACHE_SIZE = 8192
_CODE: dict[str, Any] = {}
_DATA: dict[Any, Any] = {}


def clear_cache() -> None:
    """Forgets every memoised result (for measurements and tests)."""
    _CACHE.clear()
    _CODE.clear()
    _DATA.clear()


def _compiled(source: str):
    code = _CODE.get(source)
    if code is None:
        code = _CODE[source] = compile(source, "<node>", "eval")
    return code


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    return value


def _by_rule(t: NodeType, params: dict[str, Any],
             inputs: dict[str, TensorInfo]) -> tuple[TensorInfo, int]:
    """Output and parameter count from the declaration's plain-Python rules: no torch."""
    in_shapes = {port: info.shape for port, info in inputs.items()}
    shape = tuple(t.shape(params, in_shapes))
    count = t.weights(params, in_shapes) if t.weights is not None else 0
    first = next(iter(inputs.values()), None)
    dtype = "float32" if t.is_loss or first is None else first.dtype
    return TensorInfo(shape, dtype), count


def _meta(info: TensorInfo):
    dtype = getattr(_torch, info.dtype)
    return _torch.empty(info.shape, dtype=dtype, device="meta")


def _by_meta(t: NodeType, params: dict[str, Any],
             inputs: dict[str, TensorInfo]) -> tuple[TensorInfo, int]:
    """Output and parameter count of a type without shape rules: its module is built and its
    forward evaluated on meta tensors. Raises with torch's message."""
    # The source is built from these values and evaluated: a value a program set unchecked
    # (the wiring trial passes a node's own) must go no further.
    validate.node_params(t, params)
    namespace = _namespace()
    module, count = None, 0
    if t.module is not None:
        source = t.module(params, {p: i.shape for p, i in inputs.items()})
        with _torch.device("meta"):
            module = eval(_compiled(source), namespace)  # built from validated literals
        module.eval()  # batch norm's meta kernel is twice as fast; shapes are the same
        count = sum(p.numel() for p in module.parameters())
    args = {port: f"_in_{port}" for port in inputs}
    expr = t.forward(params, args, "_m")
    local = {f"_in_{port}": _meta(info) for port, info in inputs.items()}
    local["_m"] = module
    local["self"] = types.SimpleNamespace(training=True)
    out = eval(_compiled(expr), namespace, local)
    return TensorInfo(tuple(out.shape), str(out.dtype).removeprefix("torch.")), count


def precheck(t: NodeType, params: dict[str, Any],
             inputs: Mapping[str, TensorInfo]) -> tuple[str | None, str] | None:
    """(port, detail) of the first problem the port kinds' rules or the type's own check find;
    works on some inputs only, so a wire can be tried before the node is complete."""
    problem = rules.inputs_problem(t.input_ports(params), inputs)
    if problem is None and t.check is not None:
        problem = t.check(params, inputs)
    return problem


Inferred = tuple[TensorInfo | None, int, str | None, str | None]


def _arrived(inputs: Mapping[str, TensorInfo]) -> str:
    return ", ".join(f"{p} is {i}" for p, i in inputs.items())


def _run(t: NodeType, params: dict[str, Any], inputs: dict[str, TensorInfo]) -> Inferred:
    """The declared rules, or evaluation on meta tensors for a type without them; an output
    with a dimension below 1 is a problem, never a shape to show."""
    try:
        info, count = (_by_rule if t.shape is not None else _by_meta)(t, params, inputs)
    except Exception as e:  # the rule's or torch's own message, with what arrived
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        arrived = _arrived(inputs)
        return None, 0, None, f"{message} ({arrived})" if arrived else message
    if any(d < 1 for d in info.shape):
        return None, 0, None, (
            f"output would be {format_shape(info.shape)} ({_arrived(inputs)}), but every "
            "dimension must be at least 1: change its parameters or give it a larger input")
    return info, count, None, None


def infer_node(t: NodeType, params: dict[str, Any], inputs: dict[str, TensorInfo]) -> Inferred:
    """(output, parameter count, problem port, problem detail), memoised.

    The port kinds' rules and the declaration's `check` run first, for messages in the user's
    terms; the type's shape rule (or, without one, evaluation on meta tensors) then gives the
    output. `params` are the node's resolved parameters.
    """
    key = (t.id, _freeze(params), tuple((p, i.shape, i.dtype, i.classes)
                                         for p, i in sorted(inputs.items())))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    problem = precheck(t, params, inputs)
    result = (None, 0, problem[0], problem[1]) if problem else _run(t, params, inputs)
    _CACHE[key] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def phrase(type_id: str, node_id: str, detail: str) -> str:
    """`merge.concat c1: in1 is ...` or `layer.conv2d c1 expects ...`: a problem as one line."""
    glue = " " if detail.startswith("expects ") else ": "
    return f"{type_id} {node_id}{glue}{detail}"


def _data_key(t: NodeType, params: dict[str, Any], base_dir: Path) -> Any:
    """Memo key of a data node's outputs: its file's size and time stamp, when it has one."""
    stamp = None
    path = params.get("path")
    if isinstance(path, str):
        try:
            stat = (base_dir / path).stat()
            stamp = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = "missing"
    return t.id, _freeze(params), str(base_dir), stamp


def _data_outputs(node: Node, t: NodeType, params: dict[str, Any], graph: Graph,
                  shapes: Shapes) -> None:
    key = _data_key(t, params, graph.base_dir)
    outs = _DATA.get(key)
    if outs is None:
        try:
            outs = t.data(params, graph.base_dir)
        except DataError as e:
            outs = e
        _DATA[key] = outs
    if isinstance(outs, DataError):
        param = outs.param or ("path" if t.param("path") else None)
        shapes.problems.append(ShapeProblem(node.id, None, phrase(t.id, node.id, str(outs)),
                                            param))
        return
    for port, out in outs.items():
        shapes.outputs[(node.id, port)] = TensorInfo((BATCH, *out.shape), out.dtype, out.classes)


def _node_inputs(graph: Graph, t: NodeType, node_id: str, params: dict[str, Any],
                 wires: dict[tuple[str, str], Edge],
                 shapes: Shapes) -> dict[str, TensorInfo] | None:
    """What arrives at each wired input; None while a wired or required input is unknown."""
    inputs: dict[str, TensorInfo] = {}
    for port in t.input_ports(params):
        edge = wires.get((node_id, port.name))
        info = shapes.outputs.get((edge.src, edge.src_port)) if edge else None
        if info is not None:
            inputs[port.name] = info
        elif edge is not None or not port.optional:
            return None
    return inputs


def _infer_one(graph: Graph, node: Node, t: NodeType, params: dict[str, Any],
               wires: dict[tuple[str, str], Edge], shapes: Shapes) -> None:
    if t.is_data:
        _data_outputs(node, t, params, graph, shapes)
        return
    inputs = _node_inputs(graph, t, node.id, params, wires, shapes)
    if inputs is None:
        return
    shapes.inputs[node.id] = inputs
    info, count, port, detail = infer_node(t, params, inputs)
    if info is None:
        shapes.problems.append(ShapeProblem(node.id, port,
                                            phrase(t.id, node.id, detail or "cannot infer")))
        return
    shapes.outputs[(node.id, t.outputs[0].name)] = info
    if node.shares is None:
        shapes.param_counts[node.id] = count


def wires_into(graph: Graph) -> dict[tuple[str, str], Edge]:
    """The first edge into each (node, input port), in file order."""
    wires: dict[tuple[str, str], Edge] = {}
    for e in edges_between_names(graph):
        wires.setdefault((e.dst, e.dst_port), e)
    return wires


def _own_params(t: NodeType, node: Node, shapes: Shapes) -> dict[str, Any] | None:
    """The node's parameters validated as loading would, defaults filled in; None (and the
    problem recorded) for a value its declaration refuses."""
    try:
        return t.resolve(validate.node_params(t, node.params, ""))
    except GraphFormatError as e:
        where = e.where.lstrip(".")
        detail = f"{where}: {e.detail}" if where else e.detail
        shapes.problems.append(ShapeProblem(node.id, None, phrase(t.id, node.id, detail),
                                            where or None))
        return None


def infer(graph: Graph, params: Mapping[str, dict[str, Any]] | None = None,
          known: Mapping[tuple[str, str], TensorInfo] | None = None,
          only: Collection[str] | None = None) -> Shapes:
    """Shapes of every output that can be inferred. Unwired or broken upstream nodes are
    skipped quietly: their own problem is reported once, where it is. Never raises for a
    graph's content: a node whose inference fails for any reason becomes a problem.

    `params` maps node id to its resolved, already validated parameters, when the caller has
    validated them; a node missing from it is skipped (its problem is reported elsewhere).
    Without it, each node's own parameters are validated here. With `only`, just those nodes
    are inferred, from the outputs `known` of the others.
    """
    shapes = Shapes(outputs=dict(known or {}))
    wires = wires_into(graph)
    for node_id in topological_order(graph):
        if only is not None and node_id not in only:
            continue
        node = graph.nodes[node_id]
        t = catalogue.get(node.type)
        if t is None:
            continue
        try:
            resolved = _own_params(t, node, shapes) if params is None else params.get(node_id)
            if resolved is not None:
                _infer_one(graph, node, t, resolved, wires, shapes)
        except Exception as e:  # a rule or a data source meeting what no check foresaw
            shapes.problems.append(ShapeProblem(
                node.id, None, phrase(t.id, node.id, f"cannot infer shapes: {e}")))
    return shapes
