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

from composer.analysis.checks import Analysis
from composer.analysis.shapes import _namespace, topological_order
from composer.catalogue.base import NodeType, Source, literal
from composer.errors import CompileError
from composer.generate.sourcetext import wrap
from composer.graph import Graph, Node
from composer.networks import SEPARATOR, Network, network_name, split_ref, uses


@dataclass
class NetworkClass:
    network: Network
    source: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # port -> forward's argument name
    extras: list[str] = field(default_factory=list)  # required keyword arguments
    calls: dict[str, dict[str, str]] = field(default_factory=dict)  # instance path -> args
    uses: set[str] = field(default_factory=set)  # runtime helpers the layers need

    def call(self, path: str, given: dict[str, str] | None = None) -> str:
        """Source constructing the instance at `path`: its params that differ from the
        defaults (or `given` sources for some), and its extra sizes."""
        args = dict(self.calls[path])
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
        classes[name] = _ClassWriter(network, occurrences[name], analysis, classes).write()

    for name in graph.networks:
        build(name)
    return classes


class _ClassWriter:
    def __init__(self, network: Network, paths: list[str], analysis: Analysis,
                 classes: dict[str, NetworkClass]) -> None:
        self.network = network
        self.paths = paths
        self.analysis = analysis
        self.classes = classes
        self.code = NetworkClass(network)
        # (inner node, param) -> the network param that sets it
        self.sets = {tuple(target.split(".", 1)): name
                     for name, p in network.params.items() for target in p.sets}
        self.extra_values: dict[str, dict[str, str]] = {}
        self.stored: list[str] = []  # params forward reads as self.<param>

    def write(self) -> NetworkClass:
        inner = self.network.graph
        taken = set(inner.nodes) | {"self"}
        variables: dict[str, str] = {}
        for port in self.network.inputs:
            self.code.inputs[port] = port if port not in taken else f"{port}_in"
        modules, ties, statements = [], [], []
        for node_id in self._needed_in_order():
            node = inner.nodes[node_id]
            args = self._inputs(node, variables)
            name = network_name(node.type)
            if name is not None:
                module = self._unify(node_id, {p: self._instance_call(name, p, node_id)
                                               for p in self.paths})
                ports = ", ".join(f"{self.classes[name].inputs[k]}={v}" for k, v in args.items())
                forward = f"self.{node_id}({ports})"
            else:
                t = node.node_type
                module = self._module(node_id, t)
                forward = self._forward(node_id, t, args)
            if module is not None:
                if node.shares is not None:
                    ties.append(f"        self.{node_id} = self.{node.shares}  # tied weights")
                else:
                    modules.append(f"        self.{node_id} = {module}")
            variables[node_id] = node_id
            comment = self._shape_comment(node_id)
            statements.append(f"        {node_id} = {forward}{comment}")
        self.code.source = self._source(modules + ties, statements, variables)
        for path in self.paths:
            values = self.analysis.flat.instances[path].values
            args = {k: literal(values[k]) for k in self.network.params}
            args.update({k: v[path] for k, v in self.extra_values.items()})
            self.code.calls[path] = args
        self.code.extras = list(self.extra_values)
        return self.code

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
    def _instance_call(self, name: str, path: str, node_id: str) -> str:
        given = {param: Source(self.sets[(node_id, param)]) for param in
                 self.classes[name].network.params if (node_id, param) in self.sets}
        return self.classes[name].call(f"{path}{SEPARATOR}{node_id}", given)

    def _module(self, node_id: str, t: NodeType) -> str | None:
        if t.module is None:
            return None
        per_path = {}
        for path in self.paths:
            flat_id = f"{path}{SEPARATOR}{node_id}"
            params = self.analysis.params[flat_id]
            inputs = self.analysis.shapes.inputs.get(flat_id, {})
            shapes = {p: info.shape for p, info in inputs.items()}
            per_path[path] = self._with_params(
                lambda given, shapes=shapes: t.module(given, shapes),
                node_id, params, lambda q: q)
        self.code.uses.update(t.runtime)
        return self._unify(node_id, per_path)

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

    def _unify(self, node_id: str, per_path: dict[str, str]) -> str:
        """One constructor for every instance: arguments that differ between instances
        become required keyword arguments of the class, `<node>_<argument>`."""
        forms = set(per_path.values())
        if len(forms) == 1:
            return forms.pop()
        calls = {p: ast.parse(s, mode="eval").body for p, s in per_path.items()}
        first = next(iter(calls.values()))
        shape = [(ast.dump(c.func), len(c.args), [k.arg for k in c.keywords])
                 for c in calls.values() if isinstance(c, ast.Call)]
        if len(shape) != len(calls) or any(s != shape[0] for s in shape):
            raise CompileError(f"{self.network.name}/{node_id}", (
                "its instances build it with different arguments: "
                + "; ".join(sorted(forms))))
        names = _argument_names(ast.unparse(first.func))
        slots = [(i, names[i] if i < len(names) else f"arg{i}") for i in range(len(first.args))]
        slots += [(k.arg, k.arg) for k in first.keywords]
        for slot, arg in slots:
            values = {p: ast.unparse(_arg(c, slot)) for p, c in calls.items()}
            if len(set(values.values())) > 1:
                extra = f"{node_id}_{arg}"
                self.extra_values[extra] = values
                _set_arg(first, slot, ast.Name(extra, ast.Load()))
        return ast.unparse(first)

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
        extras = [f"{k}: {_annotation(next(iter(v.values())), source=True)}"
                  for k, v in self.extra_values.items()]
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


def _argument_names(func: str) -> list[str]:
    """The positional parameter names of the callable emitted code names (`nn.Linear`)."""
    try:
        target = eval(func, dict(_namespace()))  # a name the catalogue emitted
        names = [p.name for p in inspect.signature(target).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except Exception:
        return []
    return names


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
