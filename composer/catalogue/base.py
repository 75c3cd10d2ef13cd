"""What a node type is: ports, parameters, and the code it emits.

A type's `module` and `forward` return Python source. Code generation writes that source into
the model; shape inference evaluates the very same source on meta tensors. So what the canvas
shows and what trains cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.catalogue.kinds import ACCEPTS
from composer.params import Param

Shape = tuple[int, ...]
Params = Mapping[str, Any]

CATEGORIES = ("data", "layer", "block", "merge", "op", "loss")

# What flows through a port (see kinds.py). "same" on an output means: the kind of what
# arrives at the input.
KINDS = (*ACCEPTS, "same")


@dataclass(frozen=True)
class Port:
    name: str
    kind: str = "tensor"
    optional: bool = False
    doc: str = ""
    needs: str | None = None  # an output that exists only while this parameter is not null


@dataclass(frozen=True)
class DataOutput:
    """Shape (without the batch) and dtype of one output of a data node."""

    shape: Shape
    dtype: str = "float32"  # "float32" or "int64"
    classes: int | None = None  # for labels: how many classes, when known


class Source(str):
    """Text that is already Python source (a variable name), written as it is by `call`."""


def literal(value: Any) -> str:
    """A validated value as Python source: only JSON values (and Source) get here;
    strings in double quotes, escaped by repr, lists as tuples, objects as dicts."""
    if isinstance(value, Source):
        return str(value)
    if isinstance(value, str):
        text = repr(value)
        return '"' + text[1:-1] + '"' if text.startswith("'") and '"' not in value else text
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    if isinstance(value, list | tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a literal parameter value: {type(value).__name__}")


def call(fn: str, *args: Any, **kwargs: Any) -> str:
    """Source of a call with literal arguments: `call("nn.Conv2d", 1, 16, kernel_size=3)`,
    `call("Noise", "z", Source("seed"), dim=16)`."""
    parts = [literal(a) for a in args] + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


ModuleSource = Callable[[Params, Mapping[str, Shape]], str]
ForwardSource = Callable[[Params, Mapping[str, str], str], str]
PortsOf = Callable[[Params], tuple[Port, ...]]
ShapeRule = Callable[[Params, Mapping[str, Shape]], Shape]
WeightCount = Callable[[Params, Mapping[str, Shape]], int]
DataSource = Callable[[str, Params], str]
SampleCount = Callable[[Params, Path], tuple[int | None, list[str]]]


@dataclass(frozen=True)
class NodeType:
    """One entry of the catalogue.

    - `module(params, in_shapes)`: source of the constructor of the node's nn.Module, or None
      for a stateless node. `in_shapes` maps input port to its inferred shape (with batch).
    - `forward(params, args, mod)`: source of the expression computing the single output, given
      the expressions for each wired input port and `mod`, the module's attribute (`self.c1`).
    - `data(params, base_dir)`: for data nodes only, the outputs' shapes and dtypes without the
      batch; relative paths are relative to `base_dir`, the graph file's folder. May raise
      DataError when a file is missing or unreadable.
    - `check(params, inputs)`: optional; given the inputs' TensorInfo, returns (port, message)
      for a problem to report in the user's terms before inference runs, else None.
    - `shape(params, in_shapes)`: the output's shape (with batch) in plain Python, so checking
      a graph needs no torch; `weights(params, in_shapes)`: the module's parameter count.
      Without them, inference evaluates the emitted source on meta tensors instead.
      tests/test_shapes_match_forward.py holds both to a real forward pass.
    - `emit_data(node_id, params)`: for data nodes, source of the expression building the
      node's batch source in the generated program; `samples(params, base_dir)`: how many
      samples it has (None when unknown) and the files it cannot read, for the checks; a
      type that reads files takes a third argument, `headers`: False when only the count is
      wanted (compiling), so that no file need be opened for the rest.
    - `accuracy`: a loss on logits `pred` and class ids `target` whose accuracy is reported.
    - `stops_gradient`: gradient does not flow back through this node (op.detach).
    - `runtime`: names of helpers from composer.runtime the emitted code refers to.
    - `outputs`: every output the type may have; `output_ports(params)`: those a node with
      these parameters has (see Port.needs).
    - `keywords`: other names users know it by (`dense`, `bce`), for suggestions and search.
    """

    id: str
    category: str
    doc: str
    inputs: tuple[Port, ...] | PortsOf = ()
    outputs: tuple[Port, ...] = (Port("out", "same"),)
    params: tuple[Param, ...] = ()
    module: ModuleSource | None = None
    forward: ForwardSource | None = None
    data: Callable[[Params, Path], dict[str, DataOutput]] | None = None
    check: Callable[[Params, Mapping[str, Any]], tuple[str | None, str] | None] | None = None
    shape: ShapeRule | None = None
    weights: WeightCount | None = None
    emit_data: DataSource | None = None
    samples: SampleCount | None = None
    accuracy: bool = False
    stops_gradient: bool = False
    runtime: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    glyph: str = ""
    key_params: tuple[str, ...] = field(default=())  # shown on the node's face

    def input_ports(self, params: Params) -> tuple[Port, ...]:
        return self.inputs(params) if callable(self.inputs) else self.inputs

    def input_port(self, params: Params, name: str) -> Port | None:
        return next((p for p in self.input_ports(params) if p.name == name), None)

    def output_ports(self, params: Params) -> tuple[Port, ...]:
        """The outputs these (resolved) parameters give: a port that `needs` a parameter is
        absent while that parameter is null (data.tensors' `y` without a `y_key`)."""
        return tuple(p for p in self.outputs if p.needs is None or params.get(p.needs) is not None)

    def output_port(self, name: str, params: Params | None = None) -> Port | None:
        """An output by name: among those `params` give, or among all the type declares."""
        ports = self.outputs if params is None else self.output_ports(params)
        return next((p for p in ports if p.name == name), None)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, params: Params) -> dict[str, Any]:
        """Defaults overlaid with the node's own (already validated) values."""
        merged = self.defaults()
        merged.update(params)
        return merged

    @property
    def is_data(self) -> bool:
        return self.category == "data"

    @property
    def is_loss(self) -> bool:
        return self.category == "loss"

    @property
    def reads_files(self) -> bool:
        """A data node whose `path` names a file or folder next to the graph."""
        return self.is_data and self.param("path") is not None

    @property
    def summary(self) -> str:
        """The one line the palette shows."""
        return self.doc.split("\n", 1)[0]
