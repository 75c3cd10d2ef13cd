"""Which tensors of a state_dict file go where in a graph: the report behind
`composer weights`, the editor's "Load weights..." dialog and `composer.match_weights`.

Matching itself is the runtime's (composer/runtime/weights.py), so what is reported here is what
a run loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.analysis.flatten import flatten
from composer.errors import WeightsError
from composer.fileformat.validate import WEIGHTS_MATCHES
from composer.generate.compile import compile
from composer.graph import Graph

if TYPE_CHECKING:  # torch loads on the first match, not with `import composer`
    from composer.runtime.weights import WeightsMatch, WeightsRow


@dataclass
class GraphWeights:
    """A file matched against a whole graph by names: each node the file has tensors for, with
    the prefix that selects them; the nodes it has none for keep their own initial weights,
    and the file's tensors that no node takes are left out."""

    path: str
    prefix: str
    nodes: dict[str, WeightsMatch] = field(default_factory=dict)
    # nodes skipped or that the file names nothing for: they keep their initial weights
    absent: list[str] = field(default_factory=list)
    unused: list[WeightsRow] = field(default_factory=list)  # file tensors no node takes

    @property
    def ok(self) -> bool:
        return bool(self.nodes) and all(m.ok for m in self.nodes.values())

    def message(self) -> str:
        """One line: the first node that does not fit, or that none is named in the file."""
        if not self.nodes:
            return (f"weights {Path(self.path).name}: no tensor of the file is named for a node "
                    "of this graph (names map node ids to torch names: layer1_0 <- layer1.0.)")
        bad = [m for m in self.nodes.values() if not m.ok]
        more = f" (and {len(bad) - 1} more nodes)" if len(bad) > 1 else ""
        return bad[0].message() + more if bad else ""

    def keys(self, path: str) -> dict[str, dict[str, str]]:
        """The weights key of each matched node, the file written as `path`."""
        return {node: {"path": path, "prefix": m.prefix, "match": "names"}
                for node, m in self.nodes.items()}


def nodes_with_weights(graph: Graph) -> list[str]:
    """The top-level nodes and instances with weights of their own (not shared), file order."""
    flat = flatten(graph)
    found = []
    for node in graph.nodes.values():
        inner = [flat.graph.nodes[n] for n in flat.members(node.id) if n in flat.graph.nodes]
        if node.shares is None and any(n.node_type is not None and n.node_type.module
                                       is not None for n in inner):
            found.append(node.id)
    return found


def key_path(graph: Graph, path: str | os.PathLike) -> str:
    """A file as a weights key holds it: relative to the graph's folder when inside it."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(graph.base_dir).resolve()).as_posix()
    except ValueError:
        return str(path)


def _model_and_tensors(graph: Graph, path: str | os.PathLike,
                       node: str | None) -> tuple[Any, dict]:
    from composer.runtime.errors import TrainingFailure
    from composer.runtime.weights import read_state_dict

    try:
        tensors = read_state_dict(Path(graph.base_dir) / path, node)
    except TrainingFailure as e:
        raise WeightsError(node, str(e)) from e
    return compile(graph, pretrained=False), tensors


def node_weights_source(graph: Graph, node: str,
                        path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """The node's module (fresh, not loaded) and the file's tensors: what `match_tensors`
    compares, read once so that trying prefixes and matches costs nothing more."""
    if node not in nodes_with_weights(graph):
        what = "is no node" if node not in graph.nodes else "has no weights of its own"
        raise WeightsError(node, f"{node}: {what} to load a weights file into")
    model, tensors = _model_and_tensors(graph, path, node)
    return model.get_submodule(node), tensors


def match_weights(graph: Graph, node: str, path: str | os.PathLike, prefix: str = "",
                  match: str = "names") -> WeightsMatch:
    """How the file's tensors under `prefix` fit one node or instance: its `rows` pair each
    model tensor with a file tensor (or none), shapes and status; `ok` when a run would load
    it. `path` is relative to the graph's folder. Raises WeightsError when the file cannot be
    read, CompileError when the graph cannot be built."""
    if match not in WEIGHTS_MATCHES:
        raise WeightsError(node, f'{node}: match must be "names" or "order", got {match!r}')
    from composer.runtime.weights import match_tensors

    module, tensors = node_weights_source(graph, node, path)
    return match_tensors(node, module, tensors, str(path), prefix, match)


def _owner(short: str, nodes: list[str]) -> str | None:
    """The node a file tensor name (prefix removed) starts with: exactly, else with dots for _."""
    from composer.runtime.weights import fits_name

    exact = next((n for n in nodes if short.startswith(n + ".")), None)
    return exact or next((n for n in nodes if fits_name(n + ".", short[:len(n) + 1])), None)


def match_graph_weights(graph: Graph, path: str | os.PathLike, prefix: str = "",
                        skip: tuple[str, ...] | list[str] = ()) -> GraphWeights:
    """The file matched by names against every node with weights (but those in `skip`): what
    "load torchvision's resnet18 into this graph" needs. Raises as `match_weights`."""
    from composer.runtime.weights import WeightsRow, match_tensors

    model, tensors = _model_and_tensors(graph, path, None)
    every = nodes_with_weights(graph)
    candidates = [n for n in every if n not in skip]
    prefixes: dict[str, str] = {}
    for name in tensors:
        if name.startswith(prefix):
            short = name[len(prefix):]
            owner = _owner(short, candidates)
            if owner is not None:
                prefixes.setdefault(owner, prefix + short[:len(owner) + 1])
    report = GraphWeights(str(path), prefix)
    for node in every:
        if node in prefixes:
            report.nodes[node] = match_tensors(node, model.get_submodule(node), tensors,
                                               str(path), prefixes[node])
        else:
            report.absent.append(node)
    taken = {r.file for m in report.nodes.values() for r in m.rows}
    report.unused = [WeightsRow(None, None, None, n, tuple(t.shape))
                     for n, t in tensors.items() if n.startswith(prefix) and n not in taken]
    return report
