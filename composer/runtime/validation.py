"""Validation after each epoch: every loss node on the validation split of the data it reads,
and accuracy for cross-entropy losses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from composer.runtime.distributed import Processes
from composer.runtime.errors import TrainingFailure
from composer.runtime.model import failing_node

NOISE_VAL_BATCHES = 4  # validation batches of a loss that reads only noise

ValSets = list[tuple[tuple[str, ...], tuple[str, ...]]]


def validation_sets(model: nn.Module, program: Any) -> ValSets:
    """Loss nodes grouped by the data nodes they read; each set is validated in one pass."""
    sets: dict[tuple[str, ...], list[str]] = {}
    for loss in program.losses:
        nodes = tuple(model.needed.data_nodes((f"{loss}.loss",)))
        sets.setdefault(nodes, []).append(loss)
    return [(nodes, tuple(losses)) for nodes, losses in sets.items()]


def validate(model: nn.Module, data: dict[str, Any], program: Any, sets: ValSets,
             procs: Processes | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(mean loss per loss node, accuracy per cross-entropy node), in eval mode, no gradients.
    Each of several processes validates its share of every batch; the sums are combined."""
    procs = procs or Processes()
    val: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    model.eval()
    try:
        with torch.no_grad():
            for nodes, losses in sets:
                pairs = {loss: program.accuracy[loss] for loss in losses
                         if loss in program.accuracy}
                _validate_set(model, val_batches(data, nodes), losses, pairs, val, accuracy,
                              procs)
    finally:
        model.train()
    return val, accuracy


def val_batches(data: dict[str, Any], nodes: tuple[str, ...]) -> Iterator[dict[str, Tensor]]:
    """The validation batches of data nodes read together, each merged into one dict keyed
    "node.port": finite data first, so that noise then matches its rows. Nothing when a data
    node has no validation samples."""
    sources = sorted((data[n] for n in nodes), key=lambda s: s.batches_per_pass == 0)
    counts = [s.val_count for s in sources if s.batches_per_pass]  # noise has no split
    if 0 in counts:
        return
    for i in range(max(counts, default=NOISE_VAL_BATCHES)):
        batch: dict[str, Tensor] = {}
        rows = None  # all processes' rows of this batch
        for source in sources:
            batch.update(source.val_batch(i, rows))
            rows = rows or source.val_rows(i)
        yield batch


def val_forward(model: nn.Module, batch: dict[str, Tensor],
                outputs: tuple[str, ...]) -> dict[str, Tensor]:
    """The model's outputs on a validation batch; a failure names the node it came from."""
    try:
        return model(batch, outputs)
    except Exception as e:
        node = failing_node(e, model)
        raise TrainingFailure(f"{'node ' + node if node else 'the forward pass'} failed "
                              f"in validation: {type(e).__name__}: {e}", node) from e


def _validate_set(model: nn.Module, batches: Iterator[dict[str, Tensor]],
                  losses: tuple[str, ...], pairs: dict[str, tuple[str, str]],
                  val: dict[str, float], accuracy: dict[str, float], procs: Processes) -> None:
    outputs = tuple(f"{loss}.loss" for loss in losses) + tuple(r for p in pairs.values() for r in p)
    sums = dict.fromkeys(losses, 0.0)
    correct = dict.fromkeys(pairs, 0)
    labels = dict.fromkeys(pairs, 0)
    seen = 0
    device = None
    for batch in batches:
        device = next(iter(batch.values())).device
        rows = len(next(iter(batch.values())))  # this process's share
        if rows == 0:
            continue
        outs = val_forward(model, batch, outputs)
        for loss in losses:
            sums[loss] += outs[f"{loss}.loss"].item() * rows
        seen += rows
        for loss, (pred, target) in pairs.items():
            t = outs[target]
            if not t.is_floating_point():
                correct[loss] += int((outs[pred].argmax(1) == t).sum())
                labels[loss] += t.numel()
    if device is None:
        return  # a data node without validation samples
    totals = procs.sum_values([seen, *sums.values(), *correct.values(), *labels.values()],
                              device)
    seen, n = totals[0], len(losses)
    sums = dict(zip(losses, totals[1:1 + n], strict=True))
    correct = dict(zip(pairs, totals[1 + n:1 + n + len(pairs)], strict=True))
    labels = dict(zip(pairs, totals[1 + n + len(pairs):], strict=True))
    val.update({loss: sums[loss] / seen for loss in losses})
    accuracy.update({loss: correct[loss] / labels[loss] for loss in pairs if labels[loss]})
