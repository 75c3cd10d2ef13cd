"""A graph's inference path as an ONNX file: the nodes some outputs need, with chosen weights.

The generated Model already computes only what requested outputs need
(`model(batch, outputs=[...])`); export wraps that call so its inputs are the data ports those
outputs read, in eval mode, and hands it to torch's exporter (torch.export based, which needs
the `onnx` extra: onnx and onnxscript; onnxruntime comes with it to run the file). The first
dimension of every input and output is the symbolic "batch".
"""

from __future__ import annotations

import contextlib
import difflib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from composer.errors import ComposerError
from composer.generate.codegen import analysed
from composer.generate.compile import graph_program
from composer.graph import Graph
from composer.state_dicts import load_weights, read_weights

EXTRA = "ONNX export needs the onnx extra: pip install 'model-composer[onnx]'"
BATCH = "batch"  # the name of every input's and output's first dimension
EXAMPLE_BATCH = 2  # torch.export fixes sizes 0 and 1; an example batch of 2 stays symbolic


class OnnxExportError(ComposerError):
    """An ONNX export that cannot be done: a missing extra, an output that is not one, weights
    that do not fit, or an operation the exporter refuses."""


@dataclass(frozen=True)
class OnnxExport:
    """What was written: the file, its inputs and outputs ("node.port"), with their shapes
    (the batch shown as "batch")."""

    path: Path
    inputs: dict[str, list[int | str]]
    outputs: dict[str, list[int | str]]


def output_choices(graph: Graph) -> list[str]:
    """Every output an ONNX file can give, "node.port" in file order: what the model
    computes, less the losses' values."""
    losses = {n.id for n in graph.nodes.values() if graph.type_of(n).is_loss}
    return [ref for ref in graph_program(graph).Model.inputs
            if ref.partition(".")[0] not in losses]


def default_outputs(graph: Graph) -> list[str]:
    """What the losses score (their `pred` inputs), each once, in file order: a classifier's
    logits, a reconstruction."""
    found: list[str] = []
    for node in graph.nodes.values():
        edge = graph.edge_into(node.id, "pred") if graph.type_of(node).is_loss else None
        if edge is not None and edge.source not in found:
            found.append(edge.source)
    return found


def check_outputs(graph: Graph, outputs: list[str]) -> None:
    """OnnxExportError naming the first requested output the file cannot give, with what to
    choose instead."""
    choices = output_choices(graph)
    if not outputs:
        raise OnnxExportError(f"no outputs chosen; choose from {', '.join(choices)}")
    for ref in outputs:
        if ref in choices:
            continue
        node = graph.nodes.get(ref.partition(".")[0])
        if node is not None and graph.type_of(node).is_loss:
            scored = graph.edge_into(node.id, "pred")
            hint = f"; choose what it scores, {scored.source}" if scored else ""
            raise OnnxExportError(f"{ref} is a loss's value, not an inference output{hint}")
        close = difflib.get_close_matches(ref, choices, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise OnnxExportError(f"no output {ref!r}; {hint}choose from {', '.join(choices)}")


def require_extra() -> None:
    """OnnxExportError naming the extra to install when the exporter's packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise OnnxExportError(EXTRA) from e


def export_onnx(graph: Graph, path: str | Path, outputs: list[str] | None = None, *,
                weights: str | Path | dict[str, Any] | None = None) -> OnnxExport:
    """Writes the inference path to `outputs` (default: `default_outputs`) as an ONNX file.

    `weights`: a checkpoint of `composer train` or the application, a saved state_dict, or a
    state_dict itself; without it, the initial weights the graph's seed gives. Raises
    OnnxExportError, CompileError or WeightsError, each one line naming what and where.
    """
    require_extra()
    outputs = list(dict.fromkeys(outputs)) if outputs is not None else default_outputs(graph)
    check_outputs(graph, outputs)
    program = graph_program(graph)
    with torch.random.fork_rng():  # the caller's random state stays as it was
        torch.manual_seed(graph.training.seed)  # the weights a run of this seed starts from
        model = program.Model()
    if weights is not None:
        named = weights if isinstance(weights, dict) else read_weights(weights)
        where = "the state_dict given" if isinstance(weights, dict) else Path(weights).name
        load_weights(model, named, where)
    ports = sorted(model.needed.plan(tuple(outputs))[1])
    examples = _examples(graph, ports)
    wrapper = Inference(model, ports, outputs).eval()
    onnx_program = _export(wrapper, examples, ports, outputs)
    target = Path(path)
    try:
        onnx_program.save(str(target))
    except OSError as e:
        raise OnnxExportError(f"cannot write {target}: {e.strerror or e}") from e
    with torch.no_grad():
        results = wrapper(*examples)
    return OnnxExport(target, {p: _shape(x) for p, x in zip(ports, examples, strict=True)},
                      {o: _shape(y) for o, y in zip(outputs, results, strict=True)})


def _examples(graph: Graph, ports: list[str]) -> list[torch.Tensor]:
    """An example batch for each data port, shaped as shape inference says: what the exporter
    traces with (the values do not matter, only shapes and dtypes)."""
    shapes = analysed(graph).shapes
    made = []
    for ref in ports:
        node, _, port = ref.partition(".")
        info = shapes.output(node, port)
        size = (EXAMPLE_BATCH, *info.shape[1:])
        made.append(torch.rand(size) if info.is_float else
                    torch.zeros(size, dtype=getattr(torch, info.dtype)))
    return made


def _export(wrapper: Inference, examples: list[torch.Tensor], ports: list[str],
            outputs: list[str]) -> Any:
    """torch.onnx.export (torch.export based: the TorchScript exporter is deprecated), quietly:
    its progress lines, log and warnings are not the user's business unless it fails."""
    batch = torch.export.Dim(BATCH)
    quiet = io.StringIO()
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with (contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet),
              warnings.catch_warnings()):
            warnings.simplefilter("ignore")
            return torch.onnx.export(
                wrapper, tuple(examples), dynamo=True, verbose=False, input_names=ports,
                output_names=outputs, dynamic_shapes=(tuple({0: batch} for _ in ports),))
    except Exception as e:  # the exporter's many error types: one line, the cause chained
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxExportError(f"torch could not export {', '.join(outputs)} to ONNX: "
                              f"{first}") from e
    finally:
        exporter_log.setLevel(level)


def _shape(tensor: torch.Tensor) -> list[int | str]:
    return [BATCH, *tensor.shape[1:]]


class Inference(torch.nn.Module):
    """The model's call for fixed outputs, taking the data ports positionally: the form the
    exporter traces."""

    def __init__(self, model: torch.nn.Module, ports: list[str], outputs: list[str]) -> None:
        super().__init__()
        self.model, self.ports, self.outputs = model, list(ports), tuple(outputs)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values = self.model(dict(zip(self.ports, inputs, strict=True)), self.outputs)
        return tuple(values[o] for o in self.outputs)
