"""Data a run can use, but not as the graph says: warnings on data nodes.

- batch_size more than the training split: every batch would be the whole split;
- image files in an image folder that cannot be read: a run stops at the first batch that
  needs one, naming it.

What a data file holds is read once per version of the file (its size and time stamp), so
checks stay fast while the user edits. Missing or unreadable files are not reported here:
shape inference already names them as errors.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from composer import catalogue
from composer.analysis.diagnostics import ERROR, WARNING, Diagnostic
from composer.graph import Graph, Node

_CACHE: OrderedDict[Any, tuple[int | None, list[str]]] = OrderedDict()


def data_diagnostics(graph: Graph, params: dict[str, dict[str, Any]],
                     headers: bool = True) -> list[Diagnostic]:
    """Warnings (and an error for a split with no training samples) on the data nodes that
    have valid parameters (`params`: node id -> resolved parameters, as the checks found them).
    `headers` False leaves out the image files no reader recognises: compiling needs only the
    counts, and reading 20,000 headers would cost a run seconds before its first step."""
    found = []
    for node_id, own in params.items():
        node = graph.nodes[node_id]
        t = node.node_type
        if not t.is_data:
            continue
        rows, unreadable = samples(t, own, Path(graph.base_dir), headers)
        found.extend(_split_problems(node, own, rows))
        if unreadable:
            shown = ", ".join(unreadable[:3]) + (" and more" if len(unreadable) > 3 else "")
            found.append(Diagnostic(WARNING, node.id, None, f"{len(unreadable)} file(s) cannot "
                                    f"be read as images: {shown}; training stops at the "
                                    "first batch that needs one", "path"))
    return found


def _split_problems(node: Node, params: dict[str, Any], rows: int | None) -> list[Diagnostic]:
    if rows is None or "split" not in params:
        return []
    split = params["split"]
    train = rows - int(rows * split[1]) - int(rows * split[2])
    if train < 1:
        return [Diagnostic(ERROR, node.id, None, f"the training split of {rows} samples is "
                           "empty: give it more data or a larger split[0]", "split")]
    if params["batch_size"] > train:
        return [Diagnostic(WARNING, node.id, None, f"batch_size {params['batch_size']} is more "
                           f"than the {train} samples of the training split ({rows} in all): "
                           f"every batch will be the whole split; use {train} or less to "
                           "say so", "batch_size")]
    return []


def samples(t: catalogue.NodeType, params: dict[str, Any], base_dir: Path,
            headers: bool = True) -> tuple[int | None, list[str]]:
    """(how many samples the data node has, None when unknown; files it cannot read)."""
    if t.samples is None:
        return None, []
    if not t.reads_files:
        return t.samples(params, base_dir)
    key = (t.id, repr(sorted(params.items())), str(base_dir), _stamp(base_dir / params["path"]),
           headers)
    if key not in _CACHE:
        _CACHE[key] = t.samples(params, base_dir, headers)
        if len(_CACHE) > 256:
            _CACHE.popitem(last=False)
    return _CACHE[key]


def _stamp(path: Path) -> Any:
    """What changes when the data changes: the file's (or each class folder's) size and time."""
    try:
        paths = [path, *sorted(path.iterdir())] if path.is_dir() else [path]
        return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    except OSError:
        return None
