"""The training loop: each step draws every data node's next batch, then runs the groups that
are active, in file order, each zero-grad, forward, backward, clip, step, LR step."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from composer.runtime.checkpoint import (
    MetricsWriter,
    load_checkpoint,
    output_folder,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from composer.runtime.data import seed_for
from composer.runtime.distributed import PeerLost, Processes
from composer.runtime.errors import TrainingFailure
from composer.runtime.groups import Group, Program
from composer.runtime.model import failing_node
from composer.runtime.precision import (
    CompileFailure,
    autocast,
    check_precision,
    compiled,
    eager_error,
    grad_scaler,
)
from composer.runtime.previews import Previews, check_watch
from composer.runtime.schedules import count_updates, is_active, schedule_dict
from composer.runtime.syncnorm import synchronise_batchnorm
from composer.runtime.validation import validate, validation_sets

Callback = Callable[[dict[str, Any]], Any]
NOISE_ONLY_EPOCH = 100  # steps per epoch when every data node is endless noise


@dataclass
class Run:
    """A run in progress: what it trains, where it is, and what it has recorded."""

    program: Program
    model: nn.Module
    data: dict[str, Any]
    groups: list[Group]
    device: torch.device
    steps_per_epoch: int
    total_steps: int
    frozen: list[nn.Parameter]
    procs: Processes = field(default_factory=Processes)  # this process among the run's
    step: int = 0  # steps done, counted from 0 across resumes
    draws: dict[str, int] = field(default_factory=dict)  # batches drawn per data node
    history: list[dict[str, Any]] = field(default_factory=list)
    val: dict[str, float] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    validated_at: int | None = None
    checkpoint: Path | None = None  # the latest checkpoint.pt
    saved_at: int | None = None  # step of the latest checkpoint.pt
    val_sets: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    writer: MetricsWriter = field(default_factory=lambda: MetricsWriter(None))
    precision: str = "32"  # training.precision: "32", "bf16-mixed" or "16-mixed"
    forward: Callable[..., Any] | None = None  # the model, or it through torch.compile
    compiled: bool = False  # training.compile
    previews: Previews | None = None  # the watched outputs, computed after each epoch

    def record(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        self.writer.write(record)


@dataclass
class RunSummary:
    model: nn.Module
    history: list[dict[str, Any]]
    val: dict[str, float]
    accuracy: dict[str, float]
    checkpoint: Path | None
    steps: int
    status: str  # "finished" or "stopped"


def pick_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingFailure(f"device {name!r} was asked for but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise TrainingFailure("device 'mps' was asked for but it is not available")
    return torch.device(name)


def setup(program: Program, epochs: int | None, steps: int | None, seed: int | None,
          device: str | None, data_dir: Path | None, load_pretrained: bool = True,
          precision: str | None = None, compile: bool | None = None,
          procs: Processes | None = None) -> Run:
    """Seeds, data, model (with its pretrained weights, unless a checkpoint will replace them)
    and groups: everything before the first step. Under torchrun (`procs`), each process
    draws its share of every batch and starts from rank 0's weights."""
    procs = procs or Processes()
    seed = program.seed if seed is None else seed
    where = procs.start(pick_device(device or program.device))
    precision = program.precision if precision is None else precision
    check_precision(precision, where)
    torch.manual_seed(seed)
    base = Path(data_dir if data_dir is not None else ".")
    data = {node: source.to(where) for node, source in program.make_data(seed, base).items()}
    if procs.many:
        for source in data.values():
            source.shard(procs.rank, procs.world)
    lengths = [s.batches_per_pass for s in data.values() if s.batches_per_pass]
    spe = program.steps_per_epoch or (max(lengths) if lengths else NOISE_ONLY_EPOCH)
    total = steps if steps is not None else (epochs or program.epochs) * spe
    model = program.model()
    if load_pretrained and program.pretrained is not None:
        program.pretrained(model, base)
    model = model.to(where)
    if procs.many and program.sync_batchnorm:
        model = synchronise_batchnorm(model, where)
    procs.broadcast_state(model)
    model.train()
    groups = program.make_groups(model)
    listed = {id(p) for g in groups for p in g.params}
    frozen = [p for p in model.parameters() if id(p) not in listed and p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)  # in no group: never updated, so no gradient is needed
    read: set[str] = set()
    for g in groups:
        g.planned = count_updates(g.schedule, total, spe)
        g.data_nodes = model.needed.data_nodes(g.outputs)
        model.needed.prepare(g.outputs)
        computed = model.needed.plan(g.outputs)[0]
        g.reusable = tuple(r for r in program.reused if r.partition(".")[0] in computed)
        read |= model.needed.plan(g.outputs)[1]
        g.set_lr(0)
        g.scaler = grad_scaler(precision, where)
    for source in data.values():
        source.narrow(read)
    use_compile = program.compile if compile is None else compile
    return Run(program, model, data, groups, where, spe, total, frozen, procs,
               draws=dict.fromkeys(data, 0), precision=precision,
               forward=compiled(model, where, bool(program.reused)) if use_compile else model,
               compiled=bool(use_compile))


def restore(run: Run, path: Path) -> None:
    """Puts a run back where a checkpoint left it: weights, optimisers, LR, RNG, data."""
    state = load_checkpoint(path)
    try:
        run.model.load_state_dict(state["model"])
        for g in run.groups:
            g.optimizer.load_state_dict(state["optimizers"][g.id])
    except (KeyError, RuntimeError, ValueError) as e:
        raise TrainingFailure(f"checkpoint {str(path)!r} does not fit this model: {e}") from e
    for g in run.groups:
        g.updates = state["updates"][g.id]
        g.set_lr(g.updates)
        scaler = state.get("scalers", {}).get(g.id)
        if g.scaler is not None and scaler is not None:  # else a fresh scale, as a new run's
            g.scaler.load_state_dict(scaler)
    for node, classes in data_classes(run.data).items():
        saved = state.get("classes", {}).get(node)
        if saved is not None and saved != classes:
            raise TrainingFailure(f"checkpoint {str(path)!r} was trained with classes {saved} "
                                  f"for {node}, but its data now has {classes}: the class ids "
                                  "would mean other things", node)
    set_rng_state(state["rng"])
    run.step = state["step"]
    run.draws.update(state["draws"])


def checkpoint(run: Run, path: Path) -> Path:
    """Saves weights, optimisers, gradient scalers, LR schedule positions, RNG, step, data
    positions and the class values of data sources that have them. Of several processes, rank
    0 alone writes (what it holds is the same in all, but for the random state: rank 0's is
    kept)."""
    if run.procs.rank != 0:
        return path
    return save_checkpoint(path, {
        "model": run.model.state_dict(),
        "optimizers": {g.id: g.optimizer.state_dict() for g in run.groups},
        "scalers": {g.id: g.scaler.state_dict() for g in run.groups if g.scaler is not None},
        "updates": {g.id: g.updates for g in run.groups},
        "rng": rng_state(), "step": run.step, "epoch": run.step // run.steps_per_epoch,
        "draws": dict(run.draws), "classes": data_classes(run.data),
    })


def data_classes(data: dict[str, Any]) -> dict[str, list[str]]:
    """node -> the value each class id stands for, of the data sources that map values to ids
    (a table's target): without it, a checkpoint's predictions could not be read back."""
    return {node: list(source.classes) for node, source in data.items()
            if getattr(source, "classes", None) is not None}


def draw(run: Run, nodes: Any) -> dict[str, torch.Tensor]:
    """The next batch of each of these data nodes, merged into one dict keyed "node.port"."""
    batch: dict[str, torch.Tensor] = {}
    for node in nodes:
        batch.update(run.data[node].draw(run.draws[node]))
        run.draws[node] += 1
    return batch


def update(run: Run, group: Group, batch: dict[str, torch.Tensor], step: int,
           reuse: dict[str, torch.Tensor] | None = None) -> list[float]:
    """One update of one group: zero grads, forward its losses, backward, clip, step, LR.
    `reuse` holds outputs earlier groups computed from this batch that are still current:
    they are used, not computed again, and what this group computes of them is added."""
    group.optimizer.zero_grad(set_to_none=True)
    wanted = group.outputs
    if reuse is not None:
        batch = {**batch, **reuse}
        wanted += tuple(r for r in group.reusable if r not in reuse and r not in wanted)
    try:
        with autocast(run.precision, run.device):
            outs = run.forward(batch, wanted)
    except PeerLost:
        raise
    except Exception as e:
        if run.compiled:  # torch.compile's error names no node: an eager forward tells which
            e = eager_error(run.model, batch, wanted, run.precision, run.device, e)
        if isinstance(e, CompileFailure):
            raise TrainingFailure(f"{e} at step {step} (group {group.id})", None, group.id,
                                  step) from e
        node = failing_node(e, run.model)
        where = f"node {node}" if node else "the forward pass"
        raise TrainingFailure(f"{where} failed at step {step} (group {group.id}): "
                              f"{type(e).__name__}: {e}", node, group.id, step) from e
    if reuse is not None:
        reuse.update({r: outs.pop(r) for r in wanted[len(group.outputs):]})
    total = None
    for weight, loss in zip(group.losses.values(), outs.values(), strict=True):
        loss = loss.float()  # a loss computed in a lower precision is summed in float32
        term = loss if weight == 1.0 else weight * loss
        total = term if total is None else total + term
    if not total.requires_grad:
        raise TrainingFailure(f"the losses of group {group.id} depend on none of its "
                              "parameters", None, group.id, step)
    scaler = group.scaler
    try:
        (total if scaler is None else scaler.scale(total)).backward()
    except RuntimeError as e:
        raise TrainingFailure(f"backward pass of group {group.id} failed at step {step}: {e}",
                              None, group.id, step) from e
    # Several processes average this group's gradients, and the loss values with them (one
    # collective); the values are checked after, so every process stops at the same NaN.
    losses = torch.stack([loss.detach().float() for loss in outs.values()])
    grads = [p.grad for p in group.params if p.grad is not None]
    values = run.procs.average(grads, losses).tolist()
    for name, value in zip(group.losses, values, strict=True):
        if not math.isfinite(value):
            raise TrainingFailure(f"loss {name} is {value} at step {step} (group {group.id}); "
                                  "training stopped before this update", name, group.id, step)
    if group.clip_grad_norm is not None:
        if scaler is not None:
            scaler.unscale_(group.optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(group.params, group.clip_grad_norm)
    if scaler is None:
        group.optimizer.step()
    else:  # skipped when the scaled gradients overflowed; the scale is then lowered
        scaler.step(group.optimizer)
        scaler.update()
    group.updates += 1
    group.set_lr(group.updates)
    return values


def run_step(run: Run, step: int, epoch: int) -> tuple[dict[str, float], dict[str, float], list]:
    """One global step: every loss value computed and each active group's weighted loss."""
    batch = draw(run, run.data)
    losses: dict[str, float] = {}
    group_loss: dict[str, float] = {}
    active = []
    reuse: dict[str, torch.Tensor] = {}  # outputs computed from `batch` and still current
    for group in run.groups:
        if not is_active(group.schedule, step, epoch):
            continue
        active.append(group.id)
        repeat = group.schedule.repeat
        sums = [0.0] * len(group.losses)
        for r in range(repeat):
            fresh = batch if r == 0 else {**batch, **draw(run, group.data_nodes)}
            values = update(run, group, fresh, step, reuse if r == 0 else None)
            for ref in [r for r in reuse if group.id in run.program.reused[r]]:
                del reuse[ref]  # this update changed a weight it depends on
            sums = [a + b for a, b in zip(sums, values, strict=True)]
        means = [v / repeat for v in sums]
        losses.update(zip(group.losses, means, strict=True))
        group_loss[group.id] = sum(w * v for w, v in zip(group.losses.values(), means,
                                                          strict=True))
    return losses, group_loss, active


def end_of_epoch(run: Run, epoch: int, unfinished: bool = False) -> dict[str, Any]:
    """Validation after an epoch (or after the last, unfinished one)."""
    with autocast(run.precision, run.device):
        run.val, run.accuracy = validate(run.model, run.data, run.program, run.val_sets,
                                         run.procs)
    run.validated_at = run.step
    record = {"epoch": epoch, "step": run.step - 1, "val": run.val, "accuracy": run.accuracy}
    if unfinished:
        record["partial"] = True
    run.record(record)
    run.writer.flush()
    return record


def start_event(run: Run) -> dict[str, Any]:
    schedule = {g.id: schedule_dict(g.schedule) for g in run.groups}
    return {"kind": "start", "total_steps": run.total_steps,
            "steps_per_epoch": run.steps_per_epoch,
            "epochs": -(-run.total_steps // run.steps_per_epoch),
            "losses": list(run.program.losses), "groups": [g.id for g in run.groups],
            "schedule": schedule, "step": run.step}


def run_steps(run: Run, callback: Callback | None, out_dir: Path | None,
              checkpoint_every: int | None) -> str:
    """Steps until the run's end or a "stop" from the callback; returns the status."""
    started = time.perf_counter()
    spe = run.steps_per_epoch
    first = run.step
    while run.step < run.total_steps:
        step = run.step
        epoch = step // spe
        lr = {g.id: g.lr for g in run.groups} if callback else None  # what this step uses
        losses, group_loss, active = run_step(run, step, epoch)
        run.step = step + 1
        run.record({"epoch": epoch, "step": step, "loss": losses})
        event = {"kind": "step", "epoch": epoch, "step": step, "loss": losses,
                 "group_loss": group_loss, "lr": lr, "active": active,
                 "elapsed": time.perf_counter() - started}
        if run.compiled and step == first:  # compiling happens in the first step's forwards
            event["compile_s"] = event["elapsed"]
        answer = callback(event) if callback is not None else None
        stop = answer == "stop"
        if run.step % spe == 0:
            record = end_of_epoch(run, epoch)
            if out_dir is not None:
                save_latest(run, out_dir)
            if callback is not None and callback({"kind": "epoch", **record}) == "stop":
                stop = True
            stop = send_preview(run, callback, epoch) or stop
        elif answer == "preview":
            stop = send_preview(run, callback, epoch, asked=True) or stop
        if checkpoint_every and out_dir is not None and run.step % checkpoint_every == 0:
            checkpoint(run, out_dir / f"checkpoint_step{run.step}.pt")
        if run.procs.many:  # every process stops at the same step
            stop = run.procs.any(stop or run.procs.stop_asked, run.device)
        if stop:
            return "stopped"
    return "finished"


def send_preview(run: Run, callback: Callback | None, epoch: int, asked: bool = False) -> bool:
    """Computes the watched outputs, if any, and sends them as a preview event; True when
    the callback answers "stop"."""
    if callback is None or run.previews is None or not run.previews.watch:
        return False
    outputs, notes = run.previews.compute(run.model, run.data, run.precision, run.device)
    event = {"kind": "preview", "epoch": epoch, "step": run.step - 1, "outputs": outputs}
    if notes:
        event["notes"] = notes
    if asked:
        event["asked"] = True
    return callback(event) == "stop"


def save_latest(run: Run, out_dir: Path) -> None:
    run.checkpoint = checkpoint(run, out_dir / "checkpoint.pt")
    run.saved_at = run.step


def train(program: Program, *, epochs: int | None = None, steps: int | None = None,
          seed: int | None = None, device: str | None = None, data_dir: Path | None = None,
          out_dir: Path | None = None, metrics_out: Path | None = None,
          resume: Path | None = None, checkpoint_every: int | None = None,
          callback: Callback | None = None, precision: str | None = None,
          compile: bool | None = None, procs: Processes | None = None,
          watch: Sequence[str] | None = None) -> RunSummary:
    """Trains a generated program; relative data paths start at `data_dir` (default: the
    current folder); `precision` and `compile` replace the program's settings. Raises
    TrainingFailure or DataSourceError when it can't (then no "end" event is sent: the
    exception is the end). Of several processes (`procs`), rank 0 alone calls `callback` and
    writes metrics and checkpoints.

    `watch` lists outputs ("node.port") sent to the callback as "preview" events after each
    epoch, and after a step whose event the callback answered with "preview"; the list is
    read at each preview, so its owner may change it during the run."""
    procs = procs or Processes()
    out = output_folder(out_dir)
    run = setup(program, epochs, steps, seed, device, data_dir, load_pretrained=resume is None,
                precision=precision, compile=compile, procs=procs)
    if resume is not None:
        restore(run, Path(resume))
    if watch is not None:
        check_watch(run.model, run.data, watch)
        run.previews = Previews(watch)
    if procs.many:  # dropout and other global draws differ between processes
        torch.manual_seed(seed_for(program.seed if seed is None else seed, "rank", procs.rank,
                                   run.step))
    if procs.rank != 0:
        callback, metrics_out = None, None
    run.val_sets = validation_sets(run.model, program)
    run.writer = MetricsWriter(metrics_out)
    # Everything alive now (torch, numpy, the data) lives as long as the run: leaving it out
    # of garbage collection keeps the collector's full passes from costing every step.
    gc.freeze()
    try:
        status = "stopped"
        if callback is None or callback(start_event(run)) != "stop":
            status = run_steps(run, callback, out, checkpoint_every)
        finish(run, out, callback)
    finally:
        gc.unfreeze()
        run.writer.close()
        for source in run.data.values():
            source.close()  # worker processes end with the run, however it ends
        for p in run.frozen:
            p.requires_grad_(True)
        procs.close()
    if callback is not None:
        callback({"kind": "end", "status": status, "step": run.step})
    return RunSummary(run.model, run.history, run.val, run.accuracy, run.checkpoint, run.step,
                      status)


def finish(run: Run, out_dir: Path | None, callback: Callback | None) -> None:
    """Validates the last, unfinished epoch and writes the final checkpoint."""
    if run.step and run.validated_at != run.step:
        record = end_of_epoch(run, (run.step - 1) // run.steps_per_epoch,
                              unfinished=run.step % run.steps_per_epoch != 0)
        if callback is not None:
            callback({"kind": "epoch", **record})
            send_preview(run, callback, record["epoch"])
    if out_dir is not None and run.saved_at != run.step:
        save_latest(run, out_dir)
