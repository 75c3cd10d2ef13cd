"""Graph -> readable Python source of the model class, one statement per node.

The catalogue gives each node's constructor source and forward expression; shapes come from
composer.shapes. forward computes only the nodes the requested outputs need: each node's
statement sits under `if "<node id>" in need:`, which also lets the runtime name the node an
exception came from.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass, field

from composer import catalogue
from composer.catalogue.base import NodeType
from composer.embed import runtime_names
from composer.errors import CompileError, ParamError
from composer.graph import Graph, Node
from composer.shapes import Shapes, TensorInfo, infer, topological_order
from composer.sourcetext import wrap

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Names forward itself uses; node variables never take them.
FORWARD_LOCALS = frozenset({"self", "batch", "outputs", "need", "Tensor", "Sequence"})


def checked_id(value: str, what: str) -> str:
    """An id that is safe to write into code as an identifier or inside a string literal."""
    if not isinstance(value, str) or not IDENTIFIER.match(value) or keyword.iskeyword(value):
        raise CompileError(None, f"{value!r} is not a valid {what} id: use letters, digits "
                                 "and _, not starting with a digit")
    if what == "node" and value.startswith("__"):  # `self.__x` would be renamed in the class
        raise CompileError(value, "a node id must not start with __")
    return value


class Namespace:
    """Unique variable names for node ids, torch.fx style: never a keyword, a builtin, or a
    name the generated file defines; a clash gets a numeric suffix."""

    def __init__(self, ids: set[str] | frozenset[str] = frozenset()) -> None:
        self.taken = set(dir(builtins)) | set(FORWARD_LOCALS) | runtime_names()
        self.ids = set(ids)  # other nodes' ids: a suffixed name must not take one

    def name(self, wanted: str) -> str:
        candidate, i = wanted, 1
        while candidate in self.taken or keyword.iskeyword(candidate) or (
                candidate != wanted and candidate in self.ids):
            candidate, i = f"{wanted}_{i}", i + 1
        self.taken.add(candidate)
        return candidate


def validated_params(node: Node, t: NodeType) -> dict:
    """The node's parameters, each checked by its declaration, over the type's defaults."""
    clean = t.defaults()
    for name, value in node.params.items():
        decl = t.param(name)
        if decl is None:
            raise CompileError(node.id, f"{t.id} has no parameter {name!r}")
        try:
            clean[name] = decl.validate(value)
        except ParamError as e:
            raise CompileError(node.id, f"{name}: {e}") from e
    return clean


def node_type(node: Node) -> NodeType:
    t = catalogue.get(node.type)
    if t is None:
        raise CompileError(node.id, f"unknown node type {node.type!r}")
    return t


def wired_inputs(graph: Graph, node: Node, t: NodeType, params: dict) -> dict[str, str]:
    """Input port -> "node.port" feeding it; an unwired required port is an error."""
    refs = {}
    for port in t.input_ports(params):
        edge = graph.edge_into(node.id, port.name)
        if edge is None:
            if not port.optional:
                raise CompileError(node.id, f"input {port.name} is not wired")
            continue
        refs[port.name] = f"{checked_id(edge.src, 'node')}.{checked_id(edge.src_port, 'port')}"
    return refs


@dataclass
class NodeCode:
    id: str
    var: str
    output: str  # "node.port" of its single output
    inputs: dict[str, str]  # port -> "node.port"
    module: str | None  # constructor source, None when stateless
    forward: str  # the expression computing the output
    shape: TensorInfo


@dataclass
class ModelCode:
    source: str  # the class definition
    nodes: dict[str, NodeCode] = field(default_factory=dict)  # computed nodes, in order
    shares: dict[str, str] = field(default_factory=dict)  # node -> the node it shares
    uses: set[str] = field(default_factory=set)  # runtime helpers the layers need


def _describe(info: TensorInfo) -> str:
    return "scalar" if not info.shape else str(info)


def _shares_root(graph: Graph, node: Node) -> str:
    seen = [node.id]
    while graph.nodes[seen[-1]].shares is not None:
        target = graph.nodes[seen[-1]].shares
        if target not in graph.nodes:
            raise CompileError(node.id, f"shares {target!r}, which is not a node")
        if target in seen:
            raise CompileError(node.id, "shares form a loop: " + " -> ".join(seen + [target]))
        seen.append(target)
    return seen[-1]


def _node_code(graph: Graph, shapes: Shapes, node: Node, names: Namespace,
               variables: dict[str, str]) -> NodeCode:
    t = node_type(node)
    params = validated_params(node, t)
    refs = wired_inputs(graph, node, t, params)
    port = t.outputs[0].name
    info = shapes.output(node.id, port)
    if info is None:
        problem = next((p.message for p in shapes.problems if p.node == node.id), None)
        raise CompileError(node.id, problem or "its output shape cannot be inferred; check the "
                                               "nodes that feed it")
    in_shapes = {p: i.shape for p, i in shapes.inputs.get(node.id, {}).items()}
    module = t.module(params, in_shapes) if t.module is not None else None
    args = {p: variables.get(r.partition(".")[0]) or f'batch["{r}"]' for p, r in refs.items()}
    var = names.name(node.id)
    forward = t.forward(params, args, f"self.{node.id}")
    return NodeCode(node.id, var, f"{node.id}.{port}", refs, module, forward, info)


def _init_lines(code: ModelCode, graph: Graph) -> list[str]:
    lines = ["    def __init__(self) -> None:", "        super().__init__()"]
    for n in code.nodes.values():
        if n.module is not None and n.id not in code.shares:
            lines.append(f"        self.{n.id} = {n.module}")
    for node_id, root in code.shares.items():
        lines.append(f"        self.{node_id} = self.{root}  # shares {root}: one module, "
                     "tied weights")
    renamed = {n.id: n.var for n in code.nodes.values() if n.var != n.id}
    table = ", ".join(f'"{k}": "{v}"' for k, v in renamed.items())
    lines.append(f"        self.needed = Needed(self.inputs, renamed={{{table}}})"
                 if renamed else "        self.needed = Needed(self.inputs)")
    return lines


def _forward_lines(code: ModelCode) -> list[str]:
    lines = [
        "    def forward(self, batch: dict[str, Tensor], outputs: Sequence[str]"
        ") -> dict[str, Tensor]:",
        '        """The requested outputs ("node.port"), computed from the batch (data nodes\'',
        '        outputs by "node.port") through only the nodes they need."""',
        "        need = self.needed(outputs, batch)",
    ]
    for n in code.nodes.values():
        lines.append(f'        if "{n.id}" in need:  # {_describe(n.shape)}')
        lines.append(f"            {n.var} = {n.forward}")
    lines.append("        return self.needed.pick(outputs, batch, locals())")
    return lines


def _inputs_lines(code: ModelCode) -> list[str]:
    lines = ["    # What feeds each node's output: forward works out from it which nodes a",
             "    # request needs.", "    inputs = {"]
    for n in code.nodes.values():
        refs = ", ".join(f'"{r}"' for r in n.inputs.values())
        lines.append(f'        "{n.output}": ({refs}{"," if len(n.inputs) == 1 else ""}),')
    lines.append("    }")
    return lines


def model_code(graph: Graph, shapes: Shapes | None = None) -> ModelCode:
    """The source of `class Model(nn.Module)` for this graph. Raises CompileError naming the
    first node that cannot be compiled."""
    shapes = shapes if shapes is not None else infer(graph)
    order = topological_order(graph)
    if len(order) < len(graph.nodes):
        stuck = next(n for n in graph.nodes if n not in order)
        raise CompileError(stuck, "is on a cycle: its output feeds back into its input")
    names = Namespace(set(graph.nodes))
    for node_id in graph.nodes:
        checked_id(node_id, "node")
    code = ModelCode("")
    variables: dict[str, str] = {}
    for node_id in order:
        node = graph.nodes[node_id]
        t = node_type(node)
        if t.is_data:
            continue
        n = _node_code(graph, shapes, node, names, variables)
        variables[node_id] = n.var
        code.nodes[node_id] = n
        code.uses.update(t.runtime)
    _tie_shared(graph, code)
    lines = ["class Model(nn.Module):",
             '    """The composed model: one submodule per node with parameters, named by the',
             '    node\'s id; forward computes only what the requested outputs need."""', ""]
    lines += _inputs_lines(code) + [""] + _init_lines(code, graph) + [""] + _forward_lines(code)
    code.source = "\n".join(out for line in lines for out in wrap(line)) + "\n"
    code.uses.add("Needed")
    return code


def _tie_shared(graph: Graph, code: ModelCode) -> None:
    """Nodes that share another use its module: same type and same constructor source."""
    for node_id, n in code.nodes.items():
        if graph.nodes[node_id].shares is None:
            continue
        root = _shares_root(graph, graph.nodes[node_id])
        other = code.nodes.get(root)
        if other is None or graph.nodes[root].type != graph.nodes[node_id].type:
            raise CompileError(node_id, f"shares {root}, which is not a node of the same type")
        if n.module is None:
            continue
        if other.module != n.module:
            raise CompileError(node_id, f"shares {root} but would build {n.module} where "
                                        f"{root} builds {other.module}; tied weights need "
                                        "the same parameters and input shapes")
        code.shares[node_id] = root
