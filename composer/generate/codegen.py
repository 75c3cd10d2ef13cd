"""Graph -> readable Python source of the model class, one statement per node.

The catalogue gives each node's constructor source and forward expression; shapes come from
composer.analysis.shapes. forward computes only the nodes the requested outputs need: each node's
statement sits under `if "<node id>" in need:`, which also lets the runtime name the node an
exception came from.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field

from composer.analysis.checks import Analysis, analyse
from composer.analysis.shapes import TensorInfo, topological_order
from composer.catalogue.base import NodeType
from composer.errors import CompileError
from composer.generate.classes import NetworkClass, network_classes
from composer.generate.embed import runtime_names
from composer.generate.init_code import init_helper, init_statement
from composer.generate.reuse import reused_outputs
from composer.generate.sourcetext import wrap
from composer.graph import Graph, Node
from composer.names import fresh_name
from composer.networks import network_name, split_ref
from composer.runtime.guard import NODE_GUARD

# Names forward itself uses; node variables never take them.
FORWARD_LOCALS = frozenset({"self", "batch", "outputs", "need", "Tensor", "Sequence"})


class Namespace:
    """Unique variable names for node ids, torch.fx style: never a keyword, a builtin, or a
    name the generated file defines; a clash gets a numeric suffix."""

    def __init__(self, ids: set[str] | frozenset[str] = frozenset()) -> None:
        self.taken = set(dir(builtins)) | set(FORWARD_LOCALS) | runtime_names()
        self.ids = set(ids)  # other nodes' ids: a suffixed name must not take one

    def name(self, wanted: str) -> str:
        def taken(candidate: str) -> bool:
            return candidate in self.taken or keyword.iskeyword(candidate) or (
                candidate != wanted and candidate in self.ids)

        name = fresh_name(wanted, taken)
        self.taken.add(name)
        return name


def analysed(graph: Graph) -> Analysis:
    """The graph's analysis; CompileError naming the first error (with every error attached)
    when it has any. Generation builds from what the checks validated and inferred."""
    analysis = analyse(graph, headers=False)  # a warning about a header is for the editor
    errors = analysis.errors
    if errors:
        first = errors[0]
        where = f"{first.node}.{first.port}" if first.node and first.port else first.node
        raise CompileError(where, first.message, problems=errors)
    return analysis


def wired_inputs(graph: Graph, node: Node, t: NodeType, params: dict) -> dict[str, str]:
    """Input port -> "node.port" feeding it (the checks made sure the required ones are)."""
    refs = {}
    for port in t.input_ports(params):
        edge = graph.edge_into(node.id, port.name)
        if edge is not None:
            refs[port.name] = edge.source
    return refs


@dataclass
class NodeCode:
    id: str
    var: str
    outputs: list[str]  # "node.port" of each output: one, but a network's may have several
    inputs: dict[str, str]  # port -> "node.port"
    module: str | None  # constructor source, None when stateless
    forward: str  # the expression computing the output (a dict of them for several)
    shape: TensorInfo | None
    init: str | None = None  # the statement starting its weights, when not torch's default


@dataclass
class ModelCode:
    source: str  # the class definitions: one per network, then the model
    nodes: dict[str, NodeCode] = field(default_factory=dict)  # computed nodes, in order
    shares: dict[str, str] = field(default_factory=dict)  # node -> the node it shares
    uses: set[str] = field(default_factory=set)  # runtime helpers the layers need
    # output -> groups whose update makes it stale, for outputs a later group reuses
    reused: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _describe(info: TensorInfo | None) -> str:
    return "" if info is None else "  # " + ("scalar" if not info.shape else str(info))


def _expression(ref: str, variables: dict[str, str], several: set[str]) -> str:
    """Source of what flows out of "node.port": a computed node's variable (indexed by port
    when the node gives several), else the batch's data port."""
    node, port = split_ref(ref)
    if node not in variables:
        return f'batch["{ref}"]'
    return f'{variables[node]}["{port}"]' if node in several else variables[node]


def _node_code(graph: Graph, analysis: Analysis, node: Node, names: Namespace,
               variables: dict[str, str], several: set[str]) -> NodeCode:
    t = node.node_type
    params = analysis.params[node.id]
    refs = wired_inputs(graph, node, t, params)
    port = t.outputs[0].name
    shapes = analysis.shapes
    info = shapes.output(node.id, port)
    in_shapes = {p: i.shape for p, i in shapes.inputs.get(node.id, {}).items()}
    module = t.module(params, in_shapes) if t.module is not None else None
    args = {p: _expression(r, variables, several) for p, r in refs.items()}
    var = names.name(node.id)
    forward = t.forward(params, args, f"self.{node.id}")
    init = init_statement(params, f"self.{node.id}") if module is not None else None
    return NodeCode(node.id, var, [f"{node.id}.{port}"], refs, module, forward, info, init)


def _instance_code(graph: Graph, analysis: Analysis, node: Node, cls: NetworkClass,
                   names: Namespace, variables: dict[str, str], several: set[str]) -> NodeCode:
    """An instance: constructed from its network's class, called with its inputs by name."""
    t = graph.type_of(node)
    refs = wired_inputs(graph, node, t, graph.params_of(node.id))
    args = ", ".join(f"{cls.inputs[p]}={_expression(r, variables, several)}"
                     for p, r in refs.items())
    outputs = [f"{node.id}.{p.name}" for p in t.outputs]
    if len(outputs) > 1:
        several.add(node.id)
        info = None
    else:
        info = analysis.shapes.output(*analysis.flat.output(outputs[0]).rsplit(".", 1))
    return NodeCode(node.id, names.name(node.id), outputs, refs, cls.call(node.id, analysis),
                    f"self.{node.id}({args})", info)


def _init_lines(code: ModelCode, graph: Graph) -> list[str]:
    lines = ["    def __init__(self) -> None:", "        super().__init__()"]
    for n in code.nodes.values():
        if n.module is not None and n.id not in code.shares:
            lines.append(f"        self.{n.id} = {n.module}")
            if n.init is not None:
                lines.append(f"        {n.init}")
    for node_id, root in code.shares.items():
        lines.append(f"        self.{node_id} = self.{root}  # shares {root}: one module, "
                     "tied weights")
    renamed = {n.id: n.var for n in code.nodes.values() if n.var != n.id}
    table = ", ".join(f'"{k}": "{v}"' for k, v in renamed.items())
    args = ["self.inputs"] + ([f"renamed={{{table}}}"] if renamed else [])
    if code.reused:
        args.append("reusable=(" + "".join(f'"{r}", ' for r in code.reused).rstrip(" ") + ")")
    lines.append(f"        self.needed = Needed({', '.join(args)})")
    return lines


def _forward_lines(code: ModelCode) -> list[str]:
    lines = [
        "    def forward(self, batch: dict[str, Tensor], outputs: Sequence[str]"
        ") -> dict[str, Tensor]:",
        '        """The requested outputs ("node.port"), computed from the batch (data nodes\'',
        '        outputs by "node.port") through only the nodes they need."""',
        "        need = self.needed(outputs, batch)",
    ]
    if code.reused:
        lines.append("        # what an earlier group computed this step, when nothing since has "
                     "changed it:")
        lines.append("        # then it is not computed again (see Program.reused)")
        for ref in code.reused:
            var = code.nodes[ref.partition(".")[0]].var
            lines.append(f'        {var} = batch.get("{ref}")')
    for n in code.nodes.values():
        lines.append(f"        {NODE_GUARD.format(node=n.id)}{_describe(n.shape)}")
        lines.append(f"            {n.var} = {n.forward}")
    lines.append("        return self.needed.pick(outputs, batch, locals())")
    return lines


def _inputs_lines(code: ModelCode) -> list[str]:
    lines = ["    # What feeds each node's output: forward works out from it which nodes a",
             "    # request needs.", "    inputs = {"]
    for n in code.nodes.values():
        refs = ", ".join(f'"{r}"' for r in n.inputs.values())
        for output in n.outputs:
            lines.append(f'        "{output}": ({refs}{"," if len(n.inputs) == 1 else ""}),')
    lines.append("    }")
    return lines


def model_code(graph: Graph, analysis: Analysis | None = None) -> ModelCode:
    """The source of `class Model(nn.Module)` for this graph, from its analysis (made here
    when not given). Raises CompileError naming the first error the checks find."""
    analysis = analysis if analysis is not None else analysed(graph)
    names = Namespace(set(graph.nodes) | set(graph.networks))
    code = ModelCode("")
    classes = network_classes(graph, analysis)
    variables: dict[str, str] = {}
    several: set[str] = set()  # instances whose forward gives a dict of outputs
    for node_id in topological_order(graph):
        node = graph.nodes[node_id]
        network = network_name(node.type)
        if network is not None:
            n = _instance_code(graph, analysis, node, classes[network], names, variables,
                               several)
        elif node.node_type.is_data:
            continue
        else:
            n = _node_code(graph, analysis, node, names, variables, several)
            code.uses.update(node.node_type.runtime)
            helper = init_helper(analysis.params[node_id])
            if helper is not None and node.shares is None:
                code.uses.add(helper)
        variables[node_id] = n.var
        code.nodes[node_id] = n
    for cls in classes.values():
        code.uses.update(cls.uses)
    _tie_shared(graph, code)
    code.reused = reused_outputs(graph, analysis)
    lines = [line for cls in classes.values() for line in [*cls.source.splitlines(), "", ""]]
    lines += ["class Model(nn.Module):",
             '    """The composed model: one submodule per node with parameters, named by the',
             '    node\'s id; forward computes only what the requested outputs need."""', ""]
    lines += _inputs_lines(code) + [""] + _init_lines(code, graph) + [""] + _forward_lines(code)
    code.source = "\n".join(out for line in lines for out in wrap(line)) + "\n"
    code.uses.add("Needed")
    return code


def _tie_shared(graph: Graph, code: ModelCode) -> None:
    """Nodes that share another use its module (the checks made sure it is the same type,
    parameters and input sizes, and not itself a tie)."""
    for node_id, n in code.nodes.items():
        root = graph.nodes[node_id].shares
        if root is not None and n.module is not None:
            code.shares[node_id] = root
