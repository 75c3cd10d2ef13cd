"""`composer.train`: runs the graph's generated program, the very source `export` writes.

The callback contract (the GUI's worker drives training through it):
`callback(event: dict) -> str | None`, called on the training thread. Returning "stop" ends
the run after the current step, keeping the trained weights; blocking inside the callback
pauses training. Events, in order:

- `{"kind": "start", "total_steps", "steps_per_epoch", "epochs", "losses": [loss node ids],
  "groups": [group ids], "schedule": {group: {"every", "offset", "epochs", "repeat"}},
  "step": first step (0, or where a resumed run picks up)}`
- `{"kind": "step", "epoch", "step", "loss": {node: float}, "group_loss": {group: float},
  "lr": {group: float}, "active": [group ids], "elapsed": seconds}` after every step
- `{"kind": "epoch", "epoch", "step", "val": {node: float}, "accuracy": {node: float}}` after
  each epoch's validation (with `"partial": True` for a last, unfinished epoch)
- `{"kind": "preview", "epoch", "step", "outputs": {"node.port": float32 numpy array, at
  most 16 rows}}` after each epoch's validation when `watch` lists outputs (with `"notes":
  {"node.port": why it has no array}` when some could not be computed), and after a step
  whose event the callback answered with "preview" (then with `"asked": True`)
- `{"kind": "end", "status": "finished" | "stopped", "step": steps done}`
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import DataError, TrainingError
from composer.generate.compile import graph_program
from composer.graph import Graph

# What a run asked to write TensorBoard logs needs when the package is missing.
TENSORBOARD_EXTRA = "the tensorboard extra: pip install 'model-composer[tensorboard]'"


def has_tensorboard() -> bool:
    """Whether TensorBoard logs can be written (without importing it, which takes a second)."""
    return importlib.util.find_spec("tensorboard") is not None


@dataclass
class RunResult:
    model: Any  # the trained torch.nn.Module
    history: list[dict[str, Any]]  # the metrics records, as written to --metrics-out
    val: dict[str, float]  # the last validation: mean loss per loss node
    accuracy: dict[str, float]  # the last validation: accuracy per cross-entropy node
    checkpoint: Path | None  # the final checkpoint, when out_dir was given
    steps: int  # steps done, counted from 0 across resumes
    status: str  # "finished" or "stopped" (by the callback)


def train(graph: Graph, *, epochs: int | None = None, steps: int | None = None,
          seed: int | None = None, device: str | None = None,
          out_dir: str | Path | None = None, metrics_out: str | Path | None = None,
          resume: str | Path | None = None, checkpoint_every: int | None = None,
          callback: Callable[[dict[str, Any]], str | None] | None = None,
          precision: str | None = None, compile: bool | None = None,
          tensorboard: str | Path | None = None,
          watch: Sequence[str] | None = None) -> RunResult:
    """Trains the graph as docs/FORMAT.md describes and returns the model and its metrics.

    `epochs`, `seed`, `device`, `precision` and `compile` override the graph's training
    settings; `steps` stops after
    that many steps in all. With `out_dir`, a checkpoint is written at every epoch's end and
    at the end (plus every `checkpoint_every` steps); `resume` continues from one. With
    `tensorboard`, the curves are also written there as TensorBoard logs (the tensorboard
    extra).
    `watch` lists outputs ("node.port") sent to the callback as preview events; the list is
    read at each preview, so the caller may change it while the run goes on.
    Raises CompileError, DataError or TrainingError (naming node, group and step).
    """
    for name, value, low in (("epochs", epochs, 1), ("steps", steps, 0), ("seed", seed, 0),
                             ("checkpoint_every", checkpoint_every, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < low):
            raise TrainingError(f"{name} must be an integer >= {low}, got {value!r}")
    program = graph_program(graph)
    board = None
    try:
        if tensorboard is not None:  # before the first step: a missing package stops nothing
            board = program.open_tensorboard(Path(tensorboard), TENSORBOARD_EXTRA)
            callback = board if callback is None else program.all_of(board, callback)
        summary = program.train(
            program.PROGRAM, epochs=epochs, steps=steps, seed=seed, device=device,
            data_dir=graph.base_dir, out_dir=_path(out_dir), metrics_out=_path(metrics_out),
            resume=_path(resume), checkpoint_every=checkpoint_every, callback=callback,
            precision=precision, compile=compile, watch=watch)
    except program.TrainingFailure as e:
        raise TrainingError(str(e), node=e.node, group=e.group, step=e.step) from e
    except program.DataSourceError as e:
        raise DataError(e.node, e.detail) from e
    finally:
        if board is not None:
            board.close()
    return RunResult(summary.model, summary.history, summary.val, summary.accuracy,
                     summary.checkpoint, summary.steps, summary.status)


def evaluate(graph: Graph, model: Any, *, seed: int | None = None) -> tuple[dict[str, float],
                                                                            dict[str, float]]:
    """(mean loss per loss node, accuracy per cross-entropy node) of `model` on the validation
    split of the graph's data: the evaluation training runs after each epoch.

    `model` is one `compile(graph)` built (or one `train` returned); it is evaluated on the
    device its parameters are on. The split is fixed by `seed` (default: the graph's).
    Raises DataError or TrainingError (naming the node whose forward pass failed).
    """
    with validation_data(graph, model, seed) as (program, data):
        spec = program.PROGRAM
        return program.validate(model, data, spec, program.validation_sets(model, spec))


@contextmanager
def validation_data(graph: Graph, model: Any, seed: int | None = None) -> Iterator[tuple]:
    """(the graph's program, its data sources on the model's device) while the block runs,
    the split fixed by `seed` (default: the graph's); the program's failures come out as
    DataError or TrainingError, and the sources are closed after."""
    program = graph_program(graph)
    spec = program.PROGRAM
    where = next((p.device for p in model.parameters()), None)
    data: dict[str, Any] = {}
    try:
        data = spec.make_data(spec.seed if seed is None else seed, Path(graph.base_dir))
        if where is not None:
            data = {node: source.to(where) for node, source in data.items()}
        yield program, data
    except program.TrainingFailure as e:
        raise TrainingError(str(e), node=e.node, group=e.group, step=e.step) from e
    except program.DataSourceError as e:
        raise DataError(e.node, e.detail) from e
    finally:
        for source in data.values():
            source.close()


def preview(graph: Graph, model: Any, watch: Sequence[str], *,
            seed: int | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """(output -> float32 numpy array, output -> why it has none) of the watched outputs of
    `model` on the fixed batch a run previews them on: the first 16 rows of the first
    validation batch. `model` is one `compile(graph)` built (or one `train` returned) and
    comes back in the mode it was in. Raises DataError when the data cannot be read.
    """
    with validation_data(graph, model, seed) as (program, data):
        where = next((p.device for p in model.parameters()), None)
        return program.Previews(list(watch)).compute(model, data, program.PROGRAM.precision,
                                                     where)


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)
