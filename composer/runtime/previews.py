"""Previews: what watched outputs produce on a fixed batch, for a person watching the run.

After each epoch's validation, and at a step boundary when the watcher asks, the watched
outputs ("node.port") are computed on the first PREVIEW_ROWS rows of the first validation
batch, in eval mode and without gradients. The run's random state is put back afterwards and
the batch is drawn from seeded validation data, so a run with previews trains exactly as one
without them. Outputs are float32 numpy arrays on the CPU; through a JSON event stream each
travels as its shape and the base64 text of its little-endian bytes.
"""

from __future__ import annotations

import base64
import difflib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from composer.runtime.checkpoint import rng_state, set_rng_state
from composer.runtime.errors import DataSourceError, TrainingFailure
from composer.runtime.model import failing_node
from composer.runtime.precision import autocast

PREVIEW_ROWS = 16  # rows of the validation batch a preview shows, at most


class Previews:
    """The outputs a run watches and the fixed batch they are computed on.

    `watch` is read again at every preview, so whoever passed it may change the list while
    the run goes on (the application does, when a port is watched during training).
    """

    def __init__(self, watch: Sequence[str]) -> None:
        self.watch = watch
        self._batches: dict[tuple[str, ...], dict[str, torch.Tensor] | None] = {}

    def compute(self, model: nn.Module, data: dict[str, Any], precision: str = "32",
                device: torch.device | None = None) -> tuple[dict[str, np.ndarray],
                                                             dict[str, str]]:
        """(output -> array, output -> why it has none) for every watched output."""
        refs = list(dict.fromkeys(list(self.watch)))
        wanted: dict[tuple[str, ...], list[str]] = {}
        notes: dict[str, str] = {}
        for ref in refs:
            nodes = _data_nodes(model, data, ref, notes)
            if nodes is not None:
                wanted.setdefault(nodes, []).append(ref)
        outputs: dict[str, np.ndarray] = {}
        was_training, state = model.training, rng_state()
        model.eval()
        try:
            with torch.no_grad(), autocast(precision, device or torch.device("cpu")):
                for nodes, same_data in wanted.items():
                    batch = self._batch(nodes, data, same_data, notes)
                    if batch is not None:
                        outputs.update(_forward(model, batch, same_data, notes))
        finally:
            model.train(was_training)
            set_rng_state(state)
        return {ref: outputs[ref] for ref in refs if ref in outputs}, notes

    def _batch(self, nodes: tuple[str, ...], data: dict[str, Any], refs: list[str],
               notes: dict[str, str]) -> dict[str, torch.Tensor] | None:
        """The preview batch of these data nodes: drawn once, then kept for the run."""
        if nodes not in self._batches:
            try:
                self._batches[nodes] = preview_batch([data[n] for n in nodes])
            except DataSourceError as e:
                notes.update(dict.fromkeys(refs, f"its data cannot be read: {e}"))
                return None
        batch = self._batches[nodes]
        if batch is None:
            notes.update(dict.fromkeys(refs, "its data has no validation samples to show"))
        return batch


def preview_batch(sources: list[Any], rows: int = PREVIEW_ROWS) -> dict[str, torch.Tensor] | None:
    """The first `rows` rows of the first validation batch of these data sources (finite
    data first, so that noise draws as many rows), or None when one has no validation split.
    Of several processes, this process's share of it."""
    ordered = sorted(sources, key=lambda s: s.batches_per_pass == 0)
    if any(s.batches_per_pass and s.val_count == 0 for s in ordered):
        return None
    batch: dict[str, torch.Tensor] = {}
    count = None  # all processes' rows of the batch
    for source in ordered:
        batch.update(source.val_batch(0, count))
        count = count or source.val_rows(0)
    return {key: t[:rows] for key, t in batch.items()}


def _data_nodes(model: nn.Module, data: dict[str, Any], ref: str,
                notes: dict[str, str]) -> tuple[str, ...] | None:
    try:
        nodes = tuple(model.needed.data_nodes((ref,)))
    except KeyError as e:
        notes[ref] = e.args[0] if e.args else f"no output {ref!r}"
        return None
    if any(n not in data for n in nodes):
        notes[ref] = f"no output {ref!r}: use \"node.port\" of a node of the graph"
        return None
    return nodes


def _forward(model: nn.Module, batch: dict[str, torch.Tensor], refs: list[str],
             notes: dict[str, str]) -> dict[str, np.ndarray]:
    """The outputs as arrays; when the forward fails, each output on its own, so one that
    cannot be computed leaves the others and says why."""
    try:
        return {ref: as_array(value) for ref, value in model(batch, refs).items()}
    except Exception as e:  # reported as the outputs' notes: a preview never stops a run
        if len(refs) == 1:
            notes[refs[0]] = _failure(e, model)
            return {}
    outputs = {}
    for ref in refs:
        outputs.update(_forward(model, batch, [ref], notes))
    return outputs


def _failure(error: Exception, model: nn.Module) -> str:
    if isinstance(error, KeyError):
        return str(error.args[0] if error.args else error)
    node = failing_node(error, model)
    return f"{'node ' + node if node else 'the forward pass'} failed: " \
           f"{type(error).__name__}: {error}"


def as_array(value: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy on the CPU, at most PREVIEW_ROWS rows (a scalar stays one)."""
    array = value.detach().float().cpu().numpy()
    return np.array(array[:PREVIEW_ROWS] if array.ndim else array, dtype=np.float32)


def check_watch(model: nn.Module, data: dict[str, Any], watch: Sequence[str]) -> None:
    """Refuses, naming it, a watched output that is neither computed by a node nor a data
    node's port: a misspelt `--watch` is said at once, not after the first epoch."""
    known = list(model.needed.inputs)
    for ref in watch:
        if ref in model.needed.inputs or ref.partition(".")[0] in data:
            continue
        close = difflib.get_close_matches(ref, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise TrainingFailure(f"watch: no output {ref!r}; {hint}watch \"node.port\", an "
                              "output of a node or a data node's port")


def encode_outputs(outputs: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Arrays as JSON values: {"shape": [...], "dtype": "float32", "base64": "..."}."""
    return {ref: {"shape": list(a.shape), "dtype": "float32",
                  "base64": base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes())
                  .decode("ascii")}
            for ref, a in outputs.items()}


def decode_outputs(encoded: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    """The arrays `encode_outputs` wrote."""
    return {ref: np.frombuffer(base64.b64decode(v["base64"]), dtype="<f4")
            .astype(np.float32).reshape(v["shape"]) for ref, v in encoded.items()}


def json_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as JSON can hold it: a preview's arrays encoded, anything else as it is."""
    if event.get("kind") != "preview":
        return event
    return {**event, "outputs": encode_outputs(event["outputs"])}
