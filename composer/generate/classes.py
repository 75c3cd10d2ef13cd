"""One `nn.Module` class per network, as a user would write it.

A class's `__init__` takes the network's params (keyword arguments with the network's
defaults) and, as required keyword arguments, the sizes that differ between its instances
(`fc1_in_features` when two instances see inputs of different widths); its `forward` takes
the inputs by name and returns the output, or a dict of them. Each inner statement is the
catalogue's source for the node, written once for every instance: a value a network param
sets becomes that param's name, a value that is the same in every instance stays a literal.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

from composer.analysis.checks import Analysis, Valid
from composer.analysis.flatten import flatten
from composer.analysis.shapes import Shapes, _namespace, infer, topological_order
from composer.catalogue.base import NodeType, Source, literal
from composer.errors import CompileError
from composer.generate.init_code import init_helper, init_statement
from composer.generate.sourcetext import wrap
from composer.graph import Graph, Node
from composer.networks import SEPARATOR, Network, network_name, split_ref, uses


@dataclass
class NetworkClass:
    network: Network
    writer: _ClassWriter
    source: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # port -> forward's argument name
    # required keyword arguments: name -> (inner node, argument slot of its constructor)
    extras: dict[str, tuple[str, int | str]] = field(default_factory=dict)
    uses: set[str] = field(default_factory=set)  # runtime helpers the layers need

    def arguments(self, path: str, analysis: Analysis) -> dict[str, str]:
        """Every argument of the instance at `path` as source: params, then extra sizes."""
        values = analysis.flat.instances[path].values
        args = {k: literal(values[k]) for k in self.network.params}
        for extra, (node_id, slot) in self.extras.items():
            text = self.writer.constructor(node_id, path, analysis)
            args[extra] = ast.unparse(_arg(ast.parse(text, mode="eval").body, slot))
        return args

    def call(self, path: str, analysis: Analysis, given: dict[str, str] | None = None) -> str:
        """Source constructing the instance at `path`: its params that differ from the
        defaults (or `given` sources for some), and its extra sizes."""
        args = self.arguments(path, analysis)
        defaults = {k: literal(p.default) for k, p in self.network.params.items()}
        written = {k: v for k, v in args.items() if k not in defaults or v != defaults[k]}
        written.update(given or {})
        ordered = [k for k in args if k in written]
        return f"{self.network.name}({', '.join(f'{k}={written[k]}' for k in ordered)})"


def network_classes(graph: Graph, analysis: Analysis) -> dict[str, NetworkClass]:
    """The class of every network with an instance, networks used by others first."""
    occurrences: dict[str, list[str]] = {}
    for path, inst in analysis.flat.instances.items():
        occurrences.setdefault(inst.network.name, []).append(path)
    classes: dict[str, NetworkClass] = {}

    def build(name: str) -> None:
        if name in classes or name not in occurrences:
            return
        network = graph.networks[name]
        for used in uses(network):
            build(used)
        writer = _ClassWriter(graph, network, occurrences[name], analysis, classes)
        classes[name] = writer.write()

    for name in graph.networks:
        build(name)
    return classes


class _ClassWriter:
    def __init__(self, graph: Graph, network: Network, paths: list[str], analysis: Analysis,
                 classes: dict[str, NetworkClass]) -> None:
        self.graph = graph
        self.network = network
        self.paths = paths
        self.analysis = analysis
        self.classes = classes
        self.code = NetworkClass(network, self)
        # (inner node, param) -> the network param that sets it
        self.sets = {tuple(target.split(".", 1)): name
                     for name, p in network.params.items() for target in p.sets}
        self.stored: list[str] = []  # params forward reads as self.<param>
        self.extra_values: dict[str, dict[str, str]] = {}  # extra -> its source per instance
        self.moved: dict[str, Analysis] = {}  # int param -> the graph analysed with it moved

    def write(self) -> NetworkClass:
        inner = self.network.graph
        taken = set(inner.nodes) | {"self"}
        variables: dict[str, str] = {}
        for port in self.network.inputs:
            self.code.inputs[port] = port if port not in taken else f"{port}_in"
        self.moved = self._moved_analyses()
        modules, ties, statements = [], [], []
        for node_id in self._needed_in_order():
            node = inner.nodes[node_id]
            args = self._inputs(node, variables)
            name = network_name(node.type)
            if name is not None:
                ports = ", ".join(f"{self.classes[name].inputs[k]}={v}" for k, v in args.items())
                forward = f"self.{node_id}({ports})"
            else:
                forward = self._forward(node_id, node.node_type, args)
                self.code.uses.update(node.node_type.runtime)
            module = self._module(node_id)
            if module is not None:
                if node.shares is not None:
                    ties.append(f"        self.{node_id} = self.{node.shares}  # tied weights")
                else:
                    modules.append(f"        self.{node_id} = {module}")
                    modules.extend(self._init(node_id) if name is None else [])
            variables[node_id] = node_id
            comment = self._shape_comment(node_id)
            statements.append(f"        {node_id} = {forward}{comment}")
        self.code.source = self._source(modules + ties, statements, variables)
        return self.code

    def _moved_analyses(self) -> dict[str, Analysis]:
        """For each integer param, this network's instances analysed with that param one
        larger, each from the inputs it has now: an inferred size that moves with the param
        is then written as the param."""
        moved = {}
        for name, p in self.network.params.items():
            if isinstance(p.default, bool) or not isinstance(p.default, int):
                continue
            graph = self.graph.copy()
            network = graph.networks[self.network.name]
            network.params[name].default += 1
            for level in [graph, *(n.graph for n in graph.networks.values())]:
                for node in level.nodes.values():
                    if node.type == network.type_id and isinstance(node.params.get(name), int):
                        node.params[name] += 1
            flat = flatten(graph)
            params = dict(self.analysis.params)
            shapes = Shapes()
            for path in self.paths:
                inside = {n for n in flat.graph.nodes if n.startswith(path + SEPARATOR)}
                params.update({n: flat.graph.nodes[n].resolved_params() for n in inside})
                known = {k: v for k, v in self.analysis.shapes.outputs.items()
                         if k[0] not in inside}
                found = infer(flat.graph, params, known, inside)
                shapes.outputs.update({k: v for k, v in found.outputs.items() if k[0] in inside})
                shapes.inputs.update(found.inputs)
            moved[name] = Analysis([], shapes, Valid(params=params), flat)
        return moved

    # --- what the class computes ----------------------------------------------------------
    def _needed_in_order(self) -> list[str]:
        """Inner nodes the outputs depend on, in topological order."""
        inner = self.network.graph
        feeding: dict[str, set[str]] = {}
        for e in inner.edges:
            feeding.setdefault(e.dst, set()).add(e.src)
        needed, todo = set(), [split_ref(ref)[0] for ref in self.network.outputs.values()]
        while todo:
            node = todo.pop()
            if node not in needed:
                needed.add(node)
                todo.extend(feeding.get(node, ()))
        return [n for n in topological_order(inner) if n in needed]

    def _ref(self, ref: str, variables: dict[str, str]) -> str:
        node_id, port = split_ref(ref)
        node = self.network.graph.nodes[node_id]
        name = network_name(node.type)
        if name is not None and len(self.classes[name].network.outputs) > 1:
            return f'{variables[node_id]}["{port}"]'
        return variables[node_id]

    def _inputs(self, node: Node, variables: dict[str, str]) -> dict[str, str]:
        """Input port -> the expression feeding it: an inner node or one of forward's args."""
        inner = self.network.graph
        found = {}
        for port, refs in self.network.inputs.items():
            for ref in refs:
                if split_ref(ref)[0] == node.id:
                    found[split_ref(ref)[1]] = self.code.inputs[port]
        for e in inner.edges_into(node.id):
            found[e.dst_port] = self._ref(e.source, variables)
        t = inner.type_of(node)
        order = [p.name for p in t.input_ports(inner.params_of(node.id))]
        return {p: found[p] for p in order if p in found}

    # --- constructors ---------------------------------------------------------------------
    def constructor(self, node_id: str, path: str, analysis: Analysis) -> str | None:
        """Source of an inner node's constructor in the instance at `path`, as `analysis`
        has it, with the values network params set written as those params."""
        node = self.network.graph.nodes[node_id]
        name = network_name(node.type)
        if name is not None:
            cls = self.classes[name]
            given = {param: Source(self.sets[(node_id, param)]) for param in
                     cls.network.params if (node_id, param) in self.sets}
            return cls.call(f"{path}{SEPARATOR}{node_id}", analysis, given)
        t = node.node_type
        if t.module is None:
            return None
        flat_id = f"{path}{SEPARATOR}{node_id}"
        inputs = analysis.shapes.inputs.get(flat_id, {})
        shapes = {p: info.shape for p, info in inputs.items()}
        return self._with_params(lambda given: t.module(given, shapes), node_id,
                                 analysis.params[flat_id], lambda q: q)

    def _module(self, node_id: str) -> str | None:
        per_path = {p: self.constructor(node_id, p, self.analysis) for p in self.paths}
        if None in per_path.values():
            return None
        moved = {}
        for q, analysis in self.moved.items():
            try:
                moved[q] = {p: self.constructor(node_id, p, analysis) for p in self.paths}
            except Exception:  # the moved graph does not build this node: no evidence
                continue
        return self._unify(node_id, per_path, moved)

    def _init(self, node_id: str) -> list[str]:
        """The statement starting an inner node's weights, the same in every instance."""
        params = [self.analysis.params[f"{path}{SEPARATOR}{node_id}"] for path in self.paths]
        forms = {init_statement(p, f"self.{node_id}") for p in params}
        if len(forms) > 1:
            raise CompileError(f"{self.network.name}/{node_id}", (
                "its instances start its weights differently ("
                + "; ".join(sorted(str(f) for f in forms)) + "); give the instances the "
                "same init"))
        helper = init_helper(params[0])
        if helper is None:
            return []
        self.code.uses.add(helper)
        return [f"        {forms.pop()}"]

    def _forward(self, node_id: str, t: NodeType, args: dict[str, str]) -> str:
        per_path = {}
        for path in self.paths:
            params = self.analysis.params[f"{path}{SEPARATOR}{node_id}"]
            per_path[path] = self._with_params(
                lambda given, params=params: t.forward(given, args, f"self.{node_id}"),
                node_id, params, lambda q: f"self.{q}")
        forms = set(per_path.values())
        if len(forms) > 1:
            raise CompileError(f"{self.network.name}/{node_id}", (
                "its instances compute it with different values ("
                + "; ".join(sorted(forms)) + "); make the value a network param, or give "
                "the instances the same params"))
        forward = forms.pop()
        for q in self.network.params:
            if f"self.{q}" in forward and q not in self.stored:
                self.stored.append(q)
        return forward

    def _with_params(self, emit: Any, node_id: str, params: dict[str, Any],
                     name_of: Any) -> str:
        """The emitted source with each value a network param sets written as that param
        (`name_of(param)`), when it is only used as a value there; else with the values."""
        plain = emit(params)
        sub = {p: name_of(q) for (n, p), q in self.sets.items() if n == node_id}
        if not sub:
            return plain
        try:
            named = emit({**params, **{p: Source(s) for p, s in sub.items()}})
            back = _replace_names(named, {s: literal(params[p]) for p, s in sub.items()})
        except Exception:  # the emitter computes with the value: keep it
            return plain
        return named if back == ast.dump(ast.parse(plain, mode="eval")) else plain

    def _unify(self, node_id: str, per_path: dict[str, str],
               moved: dict[str, dict[str, str]]) -> str:
        """One constructor for every instance. An argument that equals an integer param in
        every instance, and still does when that param moves, is written as the param;
        other arguments that differ between instances become required keyword arguments
        of the class, `<node>_<argument>`."""
        forms = set(per_path.values())
        calls = {p: ast.parse(s, mode="eval").body for p, s in per_path.items()}
        first = calls[self.paths[0]]
        if not all(_same_call(c, first) for c in calls.values()):
            raise CompileError(f"{self.network.name}/{node_id}", (
                "its instances build it with different arguments: "
                + "; ".join(sorted(forms))))
        slots: list[int | str] = [*range(len(first.args)), *(k.arg for k in first.keywords)]
        changed = False
        for slot in slots:
            values = {p: ast.unparse(_arg(c, slot)) for p, c in calls.items()}
            param = self._param_behind(slot, values, moved, first)
            if param is not None:
                _set_arg(first, slot, ast.Name(param, ast.Load()))
            elif len(set(values.values())) > 1:
                # a size that another argument already carries in every instance (two convs
                # reading the same input) is that argument, as a user would write it
                extra = next((k for k, v in self.extra_values.items() if v == values), None)
                if extra is None:
                    extra = f"{node_id}_{_argument_name(first, slot)}"
                    self.code.extras[extra] = (node_id, slot)
                    self.extra_values[extra] = values
                _set_arg(first, slot, ast.Name(extra, ast.Load()))
            else:
                continue
            changed = True
        return ast.unparse(first) if changed else forms.pop()

    def _param_behind(self, slot: int | str, values: dict[str, str],
                      moved: dict[str, dict[str, str]], first: ast.Call) -> str | None:
        """The integer param this argument is in every instance, moved or not (None)."""
        for q, texts in moved.items():
            now = {p: literal(self.analysis.flat.instances[p].values[q]) for p in self.paths}
            then = {p: literal(self.moved[q].flat.instances[p].values[q]) for p in self.paths}
            if any(now[p] == then[p] or values[p] != now[p] for p in self.paths):
                continue
            calls = {p: ast.parse(t, mode="eval").body for p, t in texts.items()}
            if all(_same_call(c, first) and ast.unparse(_arg(c, slot)) == then[p]
                   for p, c in calls.items()):
                return q
        return None

    # --- the text --------------------------------------------------------------------------
    def _shape_comment(self, node_id: str) -> str:
        shapes = set()
        for path in self.paths:
            flat_id = f"{path}{SEPARATOR}{node_id}"
            info = self.analysis.shapes.outputs.get((flat_id, "out"))
            shapes.add(str(info) if info is not None else None)
        return f"  # {shapes.pop()}" if len(shapes) == 1 and None not in shapes else ""

    def _signature(self) -> str:
        params = [f"{k}: {_annotation(p.default)} = {literal(p.default)}"
                  for k, p in self.network.params.items()]
        first = self.paths[0]
        extras = [f"{k}: {_annotation(v, source=True)}"
                  for k, v in self.code.arguments(first, self.analysis).items()
                  if k in self.code.extras]
        args = params + extras
        return "self" if not args else "self, *, " + ", ".join(args)

    def _source(self, init: list[str], statements: list[str],
                variables: dict[str, str]) -> str:
        network = self.network
        doc = network.description.strip() or f"The {network.name} network."
        inputs = ", ".join(f"{a}: Tensor" for a in self.code.inputs.values())
        outputs = {port: self._ref(ref, variables) for port, ref in network.outputs.items()}
        if len(outputs) == 1:
            returned, annotation = next(iter(outputs.values())), "Tensor"
        else:
            returned = "{" + ", ".join(f'"{k}": {v}' for k, v in outputs.items()) + "}"
            annotation = "dict[str, Tensor]"
        stored = [f"        self.{q} = {q}" for q in self.stored]
        lines = [f"class {network.name}(nn.Module):", *_docstring(doc), "",
                 f"    def __init__({self._signature()}) -> None:",
                 "        super().__init__()", *stored, *init, "",
                 f"    def forward(self, {inputs}) -> {annotation}:", *statements,
                 f"        return {returned}"]
        return "\n".join(out for line in lines for out in wrap(line)) + "\n"


def _docstring(text: str) -> list[str]:
    """The network's description as the class's docstring, wrapped to the line length."""
    text = text.replace('"""', "'''").replace("\\", "\\\\")
    body = [line for paragraph in text.splitlines()
            for line in (textwrap.wrap(paragraph, 92) or [""])] or [""]
    if len(body) == 1 and len(body[0]) <= 86:
        return [f'    """{body[0]}"""']
    return [f'    """{body[0]}', *(f"    {line}" if line else "" for line in body[1:]),
            '    """']


def _annotation(value: Any, source: bool = False) -> str:
    if source:
        value = ast.literal_eval(value)
    if isinstance(value, bool):
        return "bool"
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    if isinstance(value, list | tuple):
        return "tuple"
    return "Any" if value is not None else "Any | None"


def _argument_name(call: ast.Call, slot: int | str) -> str:
    """A keyword's name, or the name of the positional parameter of the callable the emitted
    code names (`in_features` for `nn.Linear`'s first); `arg<i>` when it cannot be told."""
    if isinstance(slot, str):
        return slot
    try:
        target = eval(ast.unparse(call.func), dict(_namespace()))  # a name the catalogue emitted
        names = [p.name for p in inspect.signature(target).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except Exception:
        names = []
    return names[slot] if slot < len(names) else f"arg{slot}"


def _same_call(call: ast.expr, other: ast.Call) -> bool:
    """The same callable with the same arguments by position and keyword."""
    return (isinstance(call, ast.Call) and ast.dump(call.func) == ast.dump(other.func)
            and len(call.args) == len(other.args)
            and [k.arg for k in call.keywords] == [k.arg for k in other.keywords])


def _arg(call: ast.Call, slot: int | str) -> ast.expr:
    if isinstance(slot, int):
        return call.args[slot]
    return next(k.value for k in call.keywords if k.arg == slot)


def _set_arg(call: ast.Call, slot: int | str, value: ast.expr) -> None:
    if isinstance(slot, int):
        call.args[slot] = value
    else:
        next(k for k in call.keywords if k.arg == slot).value = value


def _replace_names(source: str, values: dict[str, str]) -> str:
    """The AST dump of `source` with each name (or `self.name`) in `values` replaced by the
    literal it stands for."""

    class Put(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.parse(values[node.id], mode="eval").body if node.id in values else node

        def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
            text = ast.unparse(node)
            if text in values:
                return ast.parse(values[text], mode="eval").body
            self.generic_visit(node)
            return node

    return ast.dump(Put().visit(ast.parse(source, mode="eval")))
