"""A composed model and the code that trains it, exported by Model Composer.

It trains exactly as the application does; run it with --help for the options. It needs torch
and numpy (scikit-learn for the built-in digits, Pillow for image folders), not Model Composer.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import difflib
import gc
import json
import linecache
import math
import os
import pickle
import signal
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
import torch.nn.functional as F
from torch import Tensor, nn

# The model: one statement per node of the graph.


class Discriminator(nn.Module):
    """Scores an 8x8 image: real (high) or generated (low), as a logit."""

    def __init__(self, *, width: int = 256) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, width)
        self.fc2 = nn.Linear(width, 1)

    def forward(self, image: Tensor) -> Tensor:
        flat = torch.flatten(image, 1)  # [B,64]
        fc1 = self.fc1(flat)  # [B,256]
        act = F.leaky_relu(fc1, 0.2)  # [B,256]
        drop = F.dropout(act, p=0.3, training=self.training)  # [B,256]
        fc2 = self.fc2(drop)  # [B,1]
        return fc2


class Model(nn.Module):
    """The composed model: one submodule per node with parameters, named by the
    node's id; forward computes only what the requested outputs need."""

    # What feeds each node's output: forward works out from it which nodes a
    # request needs.
    inputs = {
        "g_fc1.out": ("noise.z",),
        "g_bn.out": ("g_fc1.out",),
        "g_act1.out": ("g_bn.out",),
        "g_fc2.out": ("g_act1.out",),
        "g_out.out": ("g_fc2.out",),
        "g_img.out": ("g_out.out",),
        "fake_detached.out": ("g_img.out",),
        "d_on_real.logit": ("digits.x",),
        "d_on_fake.logit": ("fake_detached.out",),
        "d_for_g.logit": ("g_img.out",),
        "d_real.loss": ("d_on_real.logit",),
        "d_fake.loss": ("d_on_fake.logit",),
        "g_loss.loss": ("d_for_g.logit",),
    }

    def __init__(self) -> None:
        super().__init__()
        self.g_fc1 = nn.Linear(32, 256)
        self.g_bn = nn.BatchNorm1d(256)
        self.g_fc2 = nn.Linear(256, 64)
        self.d_on_real = Discriminator()
        self.d_on_fake = self.d_on_real  # shares d_on_real: one module, tied weights
        self.d_for_g = self.d_on_real  # shares d_on_real: one module, tied weights
        self.needed = Needed(self.inputs, reusable=("g_img.out",))

    def forward(self, batch: dict[str, Tensor], outputs: Sequence[str]) -> dict[str, Tensor]:
        """The requested outputs ("node.port"), computed from the batch (data nodes'
        outputs by "node.port") through only the nodes they need."""
        need = self.needed(outputs, batch)
        # what an earlier group computed this step, when nothing since has changed it:
        # then it is not computed again (see Program.reused)
        g_img = batch.get("g_img.out")
        if "g_fc1" in need:  # [B,256]
            g_fc1 = self.g_fc1(batch["noise.z"])
        if "g_bn" in need:  # [B,256]
            g_bn = self.g_bn(g_fc1)
        if "g_act1" in need:  # [B,256]
            g_act1 = F.leaky_relu(g_bn, 0.2)
        if "g_fc2" in need:  # [B,64]
            g_fc2 = self.g_fc2(g_act1)
        if "g_out" in need:  # [B,64]
            g_out = torch.sigmoid(g_fc2)
        if "g_img" in need:  # [B,1,8,8]
            g_img = g_out.reshape(g_out.shape[0], 1, 8, 8)
        if "fake_detached" in need:  # [B,1,8,8]
            fake_detached = g_img.detach()
        if "d_on_real" in need:  # [B,1]
            d_on_real = self.d_on_real(image=batch["digits.x"])
        if "d_on_fake" in need:  # [B,1]
            d_on_fake = self.d_on_fake(image=fake_detached)
        if "d_for_g" in need:  # [B,1]
            d_for_g = self.d_for_g(image=g_img)
        if "d_real" in need:  # scalar
            d_real = F.binary_cross_entropy_with_logits(d_on_real, torch.full_like(d_on_real, 1.0))
        if "d_fake" in need:  # scalar
            d_fake = F.binary_cross_entropy_with_logits(d_on_fake, torch.full_like(d_on_fake, 0.0))
        if "g_loss" in need:  # scalar
            g_loss = F.binary_cross_entropy_with_logits(d_for_g, torch.full_like(d_for_g, 1.0))
        return self.needed.pick(outputs, batch, locals())


# How it trains: a batch source per data node, the optimiser groups.


def make_data(seed: int, data_dir: Path) -> dict[str, Any]:
    """One batch source per data node; splits and order are fixed by the seed."""
    return {
        "noise": Noise("noise", seed, dim=32, batch_size=64),
        "digits": Batches(
            "digits", seed, digits_arrays("digits"), batch_size=64, split=(0.8, 0.1, 0.1),
            shuffle=True, augment=[]),
    }


def make_groups(model: Model) -> list[Group]:
    """The optimiser groups, in file order: what each updates and minimises, when."""
    return [
        Group(
            "disc",
            torch.optim.Adam(
                parameters_of(model, "d_on_real"), lr=0.0005, betas=(0.5, 0.999), eps=1e-08,
                weight_decay=0.0),
            losses={"d_real": 1.0, "d_fake": 1.0},
            schedule=Schedule(every=1, offset=0, epochs=(0, None), repeat=1),
            lr_at=None,
            clip_grad_norm=None,
        ),
        Group(
            "gen",
            torch.optim.Adam(
                parameters_of(model, "g_fc1", "g_bn", "g_fc2"), lr=0.001, betas=(0.5, 0.999),
                eps=1e-08, weight_decay=0.0),
            losses={"g_loss": 1.0},
            schedule=Schedule(every=1, offset=0, epochs=(0, None), repeat=1),
            lr_at=None,
            clip_grad_norm=None,
        ),
    ]


# What the generated code runs on: data, schedules, the training loop.


class DataSourceError(Exception):
    """A data source that cannot be read or does not fit; names the data node when known, and
    the parameter to change when it is not the path (a table's missing column)."""

    def __init__(self, node: str | None, message: str, param: str | None = None) -> None:
        self.node = node
        self.detail = message
        self.param = param
        super().__init__(f"{node}: {message}" if node else message)


class TrainingFailure(Exception):
    """A run that had to stop (a NaN, an exception in a node); names node, group and step."""

    def __init__(self, message: str, node: str | None = None, group: str | None = None,
                 step: int | None = None) -> None:
        self.node = node
        self.group = group
        self.step = step
        super().__init__(message)


class DataWarning(UserWarning):
    """A data problem that does not stop the run: a batch larger than its split. Names the
    data node."""


class PerformanceWarning(UserWarning):
    """A setting that works but makes this run slower, not faster, on its device: torch.compile
    or float16 on a CPU. Names the setting and what to use instead."""


@dataclass(frozen=True)
class Schedule:
    every: int = 1
    offset: int = 0
    epochs: tuple[int, int | None] = (0, None)  # [first, end); None: no end
    repeat: int = 1


def schedule_dict(schedule: Schedule) -> dict:
    """The schedule as the graph file writes it (and a run's start event reports it)."""
    return {"every": schedule.every, "offset": schedule.offset,
            "epochs": list(schedule.epochs), "repeat": schedule.repeat}


def never_updates(schedule: Schedule) -> bool:
    """An offset of `every` or more never matches `step % every`."""
    return schedule.offset >= schedule.every


def is_active(schedule: Schedule, step: int, epoch: int) -> bool:
    """Whether the group updates at this global step of this epoch."""
    first, end = schedule.epochs
    in_window = first <= epoch and (end is None or epoch < end)
    return in_window and step % schedule.every == schedule.offset


def count_updates(schedule: Schedule, total_steps: int, steps_per_epoch: int) -> int:
    """How many updates the group makes in a run of total_steps (repeats included)."""
    first, end = schedule.epochs
    start = first * steps_per_epoch
    stop = total_steps if end is None else min(total_steps, end * steps_per_epoch)
    if stop <= start or never_updates(schedule):
        return 0

    def hits_below(n: int) -> int:  # steps s < n with s % every == offset
        return 0 if n <= schedule.offset else (n - 1 - schedule.offset) // schedule.every + 1

    return (hits_below(stop) - hits_below(start)) * schedule.repeat


NODE_GUARD = 'if "{node}" in need:'


def guarded_node(line: str) -> str | None:
    """The node id whose statement `line` guards, or None for any other line."""
    head, _, tail = NODE_GUARD.partition("{node}")
    text = line.strip()
    if not text.startswith(head):
        return None
    node, found, _ = text[len(head):].partition(tail)
    return node if found and node.isidentifier() else None


class Rows(NamedTuple):
    """Which rows of the global batch x holds: `count` rows from `start`, of `total` in all."""

    start: int
    count: int
    total: int

    @staticmethod
    def all(x: torch.Tensor) -> Rows:
        return Rows(0, x.shape[0], x.shape[0])

    def of(self, drawn: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This share of numbers drawn for the whole batch (along `dim`)."""
        return drawn.narrow(dim, self.start, self.count)


TENSORBOARD_PACKAGE = "the tensorboard package: pip install tensorboard"


class TensorBoardSink:
    """A training callback: per step each loss node's value (`loss/<node>`), each active
    group's weighted loss (`group_loss/<group>`) and learning rate (`lr/<group>`); per
    validation each loss node's mean (`val/<node>`) and accuracy (`accuracy/<node>`); preview
    images (`preview/<node.port>`). The x axis is the step, as in the application's curves.
    What is written reaches the files after each validation and at the end."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer  # a torch.utils.tensorboard.SummaryWriter

    def __call__(self, event: dict[str, Any]) -> None:
        kind, step = event["kind"], event.get("step")
        if kind == "step":
            self._scalars("loss", event["loss"], step)
            self._scalars("group_loss", event["group_loss"], step)
            self._scalars("lr", event.get("lr") or {}, step)
        elif kind == "epoch":
            self._scalars("val", event["val"], step)
            self._scalars("accuracy", event["accuracy"], step)
            self.writer.flush()
        elif kind == "preview":
            for ref, images in event["outputs"].items():
                grid = preview_images(images)
                if grid is not None:
                    self.writer.add_images(f"preview/{ref}", grid, step, dataformats="NCHW")
            self.writer.flush()
        elif kind == "end":
            self.writer.flush()

    def _scalars(self, kind: str, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{kind}/{name}", value, step)

    def close(self) -> None:
        """Writes what is left and closes the files (also after a failure)."""
        self.writer.close()


def preview_images(images: Any) -> np.ndarray | None:
    """A batch of images [B,1|3,H,W] with values in [0,1] as TensorBoard draws them: one whose
    values fall outside (a tanh output in [-1,1], normalised inputs) is stretched to [0,1]
    as a whole. None for anything else: it is not a picture."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.size == 0:
        return None
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    return images


def open_tensorboard(folder: Path, needs: str = TENSORBOARD_PACKAGE) -> TensorBoardSink:
    """A sink writing into `folder` (made if missing). Raises TrainingFailure when the
    tensorboard package is missing, saying it `needs` what to install, or when the folder
    cannot be written."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise TrainingFailure(f"--tensorboard needs {needs}") from e
    try:
        return TensorBoardSink(SummaryWriter(log_dir=str(folder)))
    except OSError as e:
        raise TrainingFailure(f"cannot write TensorBoard logs to {str(folder)!r}: "
                              f"{e.strerror or e}") from e


CHECKPOINT_FORMAT = "composer-checkpoint"


def output_folder(path: Path | None) -> Path | None:
    """The folder checkpoints go to, created now: a run learns it cannot write there before
    it starts, not after its first epoch."""
    if path is None:
        return None
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainingFailure(f"cannot write checkpoints to {str(path)!r}: "
                              f"{e.strerror or e}") from e
    return path


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Writes atomically (a temporary file, then a rename), so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": CHECKPOINT_FORMAT, "version": 1, **state}, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch reports a failed write as a RuntimeError
        tmp.unlink(missing_ok=True)
        raise TrainingFailure(f"cannot write checkpoint {str(path)!r}: {e}") from e
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's contents, read without executing anything (weights_only)."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise TrainingFailure(f"checkpoint {str(path)!r} does not exist") from e
    except pickle.UnpicklingError as e:
        raise TrainingFailure(f"{str(path)!r} holds Python objects besides weights and plain "
                              "data; they are not loaded, as that could run code") from e
    except Exception as e:
        raise TrainingFailure(f"cannot read checkpoint {str(path)!r}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingFailure(f"{str(path)!r} is not a training checkpoint")
    return state


def rng_state() -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class MetricsWriter:
    """One JSON object a line: a record per step and one per validation."""

    def __init__(self, path: Path | None) -> None:
        self.file = None
        if path is not None:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self.file = open(path, "w", encoding="utf-8")
            except OSError as e:
                raise TrainingFailure(f"cannot write metrics to {str(path)!r}: "
                                      f"{e.strerror or e}") from e

    def write(self, record: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


COLLECTIVE_TIMEOUT_S = 120  # a collective that waits longer ends the run with an error


RANKS_DIR_ENV = "COMPOSER_RANKS_DIR"  # where `composer train --nproc` reads what ranks say


class PeerLost(TrainingFailure):
    """A collective operation that failed because another process stopped."""


class Processes:
    """This process's place among the run's processes: rank `rank` of `world` (1: alone)."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0) -> None:
        self.rank, self.world, self.local_rank = rank, world, local_rank
        self.stop_asked = False  # set by SIGTERM/SIGINT: stop after this step

    @property
    def many(self) -> bool:
        return self.world > 1

    def start(self, device: torch.device) -> torch.device:
        """Joins the process group (NCCL on CUDA, gloo otherwise) and returns this process's
        device (cuda:LOCAL_RANK when the run is on CUDA)."""
        if not self.many:
            return device
        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                    timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_S))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._ask_stop)
        report_rank(self.rank, "pid", {"pid": os.getpid()})
        return device

    def _ask_stop(self, signum: int, frame: Any) -> None:
        self.stop_asked = True

    def close(self) -> None:
        if self.many and dist.is_initialized():
            dist.destroy_process_group()

    def all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        """Sums `t` across processes in place; a peer that died is a PeerLost."""
        if self.many:
            collective(dist.all_reduce, t)
        return t

    def sum_values(self, values: list[float], device: torch.device) -> list[float]:
        """These numbers summed across processes (in float64)."""
        if not self.many:
            return values
        return self.all_reduce(torch.tensor(values, dtype=torch.float64, device=device)).tolist()

    def average(self, grads: list[torch.Tensor], values: torch.Tensor) -> torch.Tensor:
        """Averages these gradients across processes, in one flat buffer with the loss values,
        which come back averaged too (one collective per group update)."""
        if not self.many:
            return values
        flat = torch.cat([g.reshape(-1) for g in grads] + [values.to(grads[0].dtype)
                                                            if grads else values])
        self.all_reduce(flat).div_(self.world)
        at = 0
        for g in grads:
            g.copy_(flat[at:at + g.numel()].view_as(g))
            at += g.numel()
        return flat[at:].to(values.dtype)

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every process when it is true on any (a stop request)."""
        if not self.many:
            return flag
        return bool(self.all_reduce(torch.tensor([float(flag)], device=device)).item())

    def broadcast_state(self, model: nn.Module) -> None:
        """Every process starts from rank 0's weights and buffers."""
        if self.many:
            for t in list(model.parameters()) + list(model.buffers()):
                collective(dist.broadcast, t.data, 0)


def collective(op: Any, *args: Any) -> Any:
    """Runs a collective operation; its failure (a peer that died, a timeout) is a PeerLost."""
    try:
        return op(*args)
    except Exception as e:  # gloo and NCCL raise several kinds
        said = str(e).strip().splitlines()
        raise PeerLost("another process stopped during a collective operation ("
                       f"{said[0] if said else type(e).__name__})") from e


def processes_from_env() -> Processes:
    """Rank, world size and local rank as torchrun sets them (one process when unset)."""
    env = os.environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return Processes()
    return Processes(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))


def report_rank(rank: int, kind: str, what: dict[str, Any]) -> bool:
    """Tells `composer train --nproc` about this process ("pid", "failed", "done") through a
    small file, when it launched it (then True); a run under plain torchrun writes nothing."""
    folder = os.environ.get(RANKS_DIR_ENV)
    if not folder:
        return False
    path = Path(folder) / f"rank{rank}.{kind}"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"time": time.time(), **what}), encoding="utf-8")
    os.replace(tmp, path)  # the launcher never reads half a file
    return True


def stderr_to_launcher(rank: int) -> None:
    """Under `composer train --nproc`, this process's stderr goes to a file it reads (rank 0's
    is shown as the run goes; torchrun's own report of a failure is not)."""
    folder = os.environ.get(RANKS_DIR_ENV)
    if folder:
        sys.stderr.flush()
        fd = os.open(Path(folder) / f"rank{rank}.err", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)


def share(rows: int, rank: int, world: int) -> slice:
    """The contiguous rows of a batch of `rows` that process `rank` of `world` takes."""
    return slice(rows * rank // world, rows * (rank + 1) // world)


PRECISIONS = ("32", "bf16-mixed", "16-mixed")


LOW_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuses, in one line naming the setting, a precision this device cannot run.

    torch runs both autocast types on the CPU (float16 through its slower reference kernels,
    with a gradient scaler that works there too), so the CPU refuses neither; a CUDA device
    without bfloat16 arithmetic (before compute capability 8.0) refuses bf16-mixed.
    """
    if precision not in PRECISIONS:
        raise TrainingFailure(f"training.precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {precision!r}")
    if precision == "bf16-mixed" and device.type == "cuda" \
            and not torch.cuda.is_bf16_supported(including_emulation=False):
        raise TrainingFailure("training.precision bf16-mixed needs a GPU with bfloat16 "
                              f"arithmetic, which {torch.cuda.get_device_name(device)} lacks: "
                              "use 16-mixed or 32")
    if precision == "16-mixed" and device.type == "cpu":
        warnings.warn(PerformanceWarning("training.precision 16-mixed on the CPU: float16 "
                                         "steps were measured 10x slower than float32 there; "
                                         "bf16-mixed is the fast choice on a CPU"), stacklevel=2)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: autocast to the run's lower precision, or nothing."""
    dtype = LOW_DTYPES.get(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A new gradient scaler for one group under "16-mixed"; None otherwise."""
    if precision != "16-mixed":
        return None
    return torch.amp.GradScaler(device.type)


def compile_line(seconds: float) -> str:
    """What a compiled run's log says after its first step, so that step's time is not
    mistaken for a step's."""
    return f"torch.compile: the first step took {seconds:.1f} s, compiling included"


def compiled(model: nn.Module, device: torch.device, reuses: bool) -> Callable[..., Any]:
    """The model's forward through torch.compile. Compiling happens at the first call of each
    distinct request (a group's outputs), not here; the state_dict keeps its names.

    The whole forward becomes one graph per request, and the module stays eager for
    validation. When a group reuses an output that an earlier group computed (`reuses`), that
    cannot be: one compiled graph is one autograd node, whose saved tensors the first group's
    backward frees, so the second group could not backward through the output it took. Then
    each node's module (a network instance, a layer) is compiled on its own instead, in place,
    and forward's own steps between them stay eager.
    """
    if device.type == "cpu":
        warnings.warn(PerformanceWarning("training.compile on the CPU: compiling takes up to a "
                                         "minute and compiled steps were measured no faster "
                                         "than eager ones there (0.6x-1.0x); it pays off on a "
                                         "GPU"), stacklevel=2)
    if not reuses:
        return torch.compile(model)
    for module in model.children():  # a tied module once
        module.compile()
    return model


class CompileFailure(Exception):
    """torch.compile failed on a forward that runs eagerly."""


def eager_error(model: nn.Module, batch: dict[str, torch.Tensor], outputs: tuple[str, ...],
                precision: str, device: torch.device, error: Exception) -> Exception:
    """The exception the eager forward raises on what failed compiled, whose traceback
    leads to the node; a CompileFailure when the eager forward runs."""
    try:
        with torch.no_grad(), autocast(precision, device):
            model(batch, outputs)
    except Exception as eager:
        return eager
    lines = str(error).strip().splitlines()
    return CompileFailure(f"torch.compile failed ({type(error).__name__}: "
                          f"{lines[0] if lines else ''}); training.compile false runs eagerly")


class Group:
    """One optimiser group: its optimiser (over its members' parameters), its weighted losses,
    its schedule, its learning-rate schedule and its gradient clipping."""

    def __init__(self, id: str, optimizer: torch.optim.Optimizer, losses: dict[str, float],
                 schedule: Schedule, lr_at: Callable[..., float] | None = None,
                 clip_grad_norm: float | None = None) -> None:
        self.id = id
        self.optimizer = optimizer
        self.losses = dict(losses)  # loss node -> weight
        self.schedule = schedule
        self.lr_at = lr_at
        self.clip_grad_norm = clip_grad_norm
        self.outputs = tuple(f"{node}.loss" for node in losses)
        self.params = [p for pg in optimizer.param_groups for p in pg["params"]]
        self.base_lr = float(optimizer.defaults["lr"])
        self.lr = self.base_lr
        self.updates = 0  # over the whole run, resumed ones included
        self.planned = 0  # updates this run will make in all; set before training
        self.data_nodes: list[str] = []  # data nodes its losses read; set before training
        # outputs its losses need that a later group may reuse (Program.reused); set before
        # training
        self.reusable: tuple[str, ...] = ()
        # scales its loss under training.precision "16-mixed"; set before training
        self.scaler: torch.amp.GradScaler | None = None

    def set_lr(self, k: int) -> None:
        """The learning rate for update k, from the LR schedule (constant: unchanged)."""
        if self.lr_at is None:
            return
        self.lr = float(self.lr_at(k, self.base_lr, self.planned))
        for pg in self.optimizer.param_groups:
            pg["lr"] = self.lr


@dataclass(frozen=True)
class Program:
    """Everything a generated file defines for training: the model and how to train it."""

    name: str
    model: Callable[[], nn.Module]
    make_data: Callable[[int, Path], dict[str, Any]]
    make_groups: Callable[[Any], list[Group]]
    losses: tuple[str, ...]  # every loss node, in file order
    accuracy: dict[str, tuple[str, str]]  # cross-entropy loss -> (logits, labels) outputs
    epochs: int
    seed: int
    device: str
    steps_per_epoch: int | None = None
    sync_batchnorm: bool = False  # several processes: batch norms over the global batch
    # output -> the groups whose update makes it stale: an output an earlier group computed
    # in a step serves later groups of that step until then (one forward where a
    # hand-written loop does one)
    reused: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # loads the nodes' pretrained weights files (relative to the given folder) into a new
    # model: `partial(load_weights, ((node, file, prefix, match), ...))`; a resumed run takes
    # its checkpoint's weights instead
    pretrained: Callable[[nn.Module, Path], None] | None = None
    precision: str = "32"  # "32", "bf16-mixed" or "16-mixed": see composer/runtime/precision
    compile: bool = False  # run the model's forward through torch.compile


class Needed:
    """The nodes that requested outputs depend on, worked out once per tuple of outputs.

    `inputs` maps each computed output ("node.port") to the outputs feeding its node; any
    other name is a data port, read from the batch. `renamed` maps the few node ids that are
    not usable as Python variables (builtins, torch names) to the variable forward uses.
    `reusable` are computed outputs that may come in the batch instead, when an earlier
    group computed them this step and nothing since has changed them: the nodes behind such
    an output are then not computed again.
    """

    def __init__(self, inputs: dict[str, tuple[str, ...]],
                 renamed: dict[str, str] | None = None,
                 reusable: tuple[str, ...] = ()) -> None:
        self.inputs = inputs
        self.renamed = renamed or {}
        self.reusable = reusable
        self.plans: dict[tuple, tuple[frozenset[str], frozenset[str]]] = {}

    def __call__(self, outputs: Sequence[str], batch: dict[str, torch.Tensor]) -> frozenset[str]:
        """The node ids to compute; raises KeyError when the batch lacks a data port."""
        key = outputs if type(outputs) is tuple else tuple(outputs)
        given = tuple(r for r in self.reusable if r in batch) if self.reusable else ()
        plan = self.plans.get((key, given))
        if plan is None:
            plan = self.plans[(key, given)] = self.plan(key, given)
        nodes, ports = plan
        if not ports <= batch.keys():
            missing = ", ".join(sorted(ports - batch.keys()))
            raise KeyError(f"the batch has no {missing}, which {', '.join(key)} need(s)")
        return nodes

    def prepare(self, outputs: tuple[str, ...]) -> None:
        """Works out now the plan of a request that comes with nothing reused: a compiled
        forward then finds it, where adding it during the first call would make
        torch.compile compile that forward a second time."""
        if (outputs, ()) not in self.plans:
            self.plans[(outputs, ())] = self.plan(outputs)

    def plan(self, outputs: tuple[str, ...],
             given: tuple[str, ...] = ()) -> tuple[frozenset[str], frozenset[str]]:
        """(node ids to compute, batch entries read) for these outputs, when the `given`
        computed outputs come in the batch."""
        nodes: set[str] = set()
        ports: set[str] = set()
        todo = list(outputs)
        while todo:
            ref = todo.pop()
            if ref in self.inputs and ref not in given:
                node = ref.partition(".")[0]
                if node not in nodes:
                    nodes.add(node)
                    todo.extend(self.inputs[ref])
            elif "." in ref and not ref.startswith("."):
                ports.add(ref)
            else:
                known = ", ".join(self.inputs)
                raise KeyError(f"no output {ref!r}: use \"node.port\", one of {known} "
                               "or a data node's port")
        return frozenset(nodes), frozenset(ports)

    def data_nodes(self, outputs: Sequence[str]) -> list[str]:
        """The data nodes these outputs read, sorted."""
        return sorted({ref.partition(".")[0] for ref in self.plan(tuple(outputs))[1]})

    def pick(self, outputs: Sequence[str], batch: dict[str, torch.Tensor],
             values: dict[str, object]) -> dict[str, torch.Tensor]:
        """The requested outputs from forward's variables (or the batch, for data ports)."""
        picked = {}
        for ref in outputs:
            if ref in self.inputs:
                node, _, port = ref.partition(".")
                value = values[self.renamed.get(node, node)]
                # a network with several outputs gives them as a dict by port
                picked[ref] = value[port] if isinstance(value, dict) else value
            else:
                picked[ref] = batch[ref]
        return picked


def parameters_of(model: nn.Module, *nodes: str) -> list[nn.Parameter]:
    """The parameters of these nodes' modules, each once (tied modules share them). A node
    may be a path into network instances: "backbone/layer4"."""
    seen: set[int] = set()
    params = []
    for node in nodes:
        module = model
        for part in node.split("/"):
            module = getattr(module, part, None)
        if not isinstance(module, nn.Module):
            continue
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def failing_node(error: BaseException, model: nn.Module) -> str | None:
    """The node whose statement in the generated forward raised `error`, if it came from there.

    Each node's statement in forward sits under its NODE_GUARD; the traceback gives the line,
    the nearest guard above it names the node. Nothing is recorded while running.
    """
    code = type(model).forward.__code__
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None:
        return None
    for text in reversed(linecache.getlines(code.co_filename)[:line]):
        node = guarded_node(text)
        if node is not None:
            return node
    return None


def seed_for(seed: int, *parts: object) -> int:
    """A 32-bit seed mixed from the run's seed and names, the same in every process."""
    return zlib.crc32(repr((seed, *parts)).encode())


LAZY_BYTES = 256 * 2**20  # an array larger than this (or memory-mapped) is read per batch


def is_big(array: Any) -> bool:
    """An array better read a batch of rows at a time than copied whole into memory."""
    return isinstance(array, np.memmap | LazyRows) or getattr(array, "nbytes", 0) > LAZY_BYTES


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CPU tensor on `device`: to CUDA through pinned memory without blocking the host, so
    the copy overlaps the work queued before it; elsewhere a plain copy (or none)."""
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


class LazyRows:
    """Rows of a big array (a memory map, usually) that a split holds without reading them:
    indexing it reads just those rows and converts them, as a tensor, to `dtype`. It answers
    the few tensor operations a batch source uses on a split, so the source need not know."""

    def __init__(self, array: np.ndarray, dtype: Any = None,
                 index: np.ndarray | None = None) -> None:
        self.array = array
        self.dtype = np.dtype(dtype or (np.float32 if array.dtype.kind == "f" else np.int64))
        self.index = np.arange(len(array)) if index is None else index
        self.device = torch.device("cpu")

    def __len__(self) -> int:
        return len(self.index)

    def subset(self, rows: np.ndarray) -> LazyRows:
        return LazyRows(self.array, self.dtype, self.index[rows])

    def to(self, device: torch.device) -> LazyRows:
        self.device = torch.device(device)
        return self

    def _read(self, rows: np.ndarray) -> torch.Tensor:
        values = np.asarray(self.array[self.index[rows]], dtype=self.dtype)
        return to_device(torch.from_numpy(values), self.device)

    def index_select(self, dim: int, rows: torch.Tensor) -> torch.Tensor:
        return self._read(rows.cpu().numpy())

    def __getitem__(self, rows: slice) -> torch.Tensor:
        return self._read(np.arange(len(self.index))[rows])


def digits_arrays(node: str) -> dict[str, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: x [N,1,8,8] in [0,1], y [N] in 0..9."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise DataSourceError(node, "data.digits needs scikit-learn: pip install scikit-learn"
                              ) from e
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    return {"x": x, "y": digits.target.astype(np.int64)}


def split_rows(node: str, seed: int, n: int, split: tuple[float, float, float] | list[float],
               batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the train, validation and test splits: a permutation fixed by the seed."""
    order = np.random.default_rng(seed_for(seed, "split", n)).permutation(n)
    n_val, n_test = int(n * split[1]), int(n * split[2])
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataSourceError(node, f"the training split of {n} samples is empty")
    if batch_size > n_train:
        warnings.warn(DataWarning(f"{node}: batch_size {batch_size} is more than the "
                                  f"{n_train} samples of the training split; every batch "
                                  "is the whole split"), stacklevel=3)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


class Batches:
    """One data node: its train/val/test split (fixed by the seed) and its training batches.

    Batch k is a pure function of the draw number k: pass k // batches_per_pass, shuffled by
    (seed, node, pass). A pass drops the last partial batch, so every batch has batch_size rows;
    when batch_size is more than the training split, every batch is the whole split (a
    DataWarning says so).
    """

    def __init__(self, node: str, seed: int, arrays: dict[str, np.ndarray], batch_size: int,
                 split: tuple[float, float, float], shuffle: bool = True,
                 augment: tuple | list = ()) -> None:
        self.node, self.seed, self.batch_size, self.shuffle = node, seed, batch_size, shuffle
        self.augment = list(augment)
        train, val, test = split_rows(node, seed, len(arrays["x"]), split, batch_size)
        self.train = self._take(arrays, train)
        self.val = self._take(arrays, val)
        self.test = self._take(arrays, test)
        self.n_train, self.n_val = len(train), len(val)
        self.batches_per_pass = max(1, self.n_train // batch_size)
        self.val_count = -(-self.n_val // batch_size)  # batches, the last one partial
        self._order: tuple[int, torch.Tensor] | None = None
        self.drawn = list(self.train)  # ports a training batch holds (all, unless narrowed)
        self.generator = torch.Generator()  # reseeded for every draw
        self.rank, self.world = 0, 1  # this process's share of every batch
        if self.augment:
            self._augment({k: t[:2] for k, t in self.train.items()}, -1, Rows(0, 2, 2))

    def close(self) -> None:
        """Arrays in memory hold nothing to release."""

    def _take(self, arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
        """The split's rows as tensors, or as LazyRows for a big array (read per batch)."""
        split = {}
        for port, a in arrays.items():
            if is_big(a):
                split[f"{self.node}.{port}"] = (a if isinstance(a, LazyRows) else LazyRows(a)
                                                ).subset(rows)
            else:
                split[f"{self.node}.{port}"] = torch.from_numpy(np.ascontiguousarray(a[rows]))
        return split

    def to(self, device: torch.device) -> Batches:
        for split in (self.train, self.val, self.test):
            for key, t in split.items():
                split[key] = to_device(t, torch.device(device))
        self._order = None
        return self

    def _pass_order(self, p: int) -> torch.Tensor:
        device = next(iter(self.train.values())).device
        if not self.shuffle:
            return torch.arange(self.n_train, device=device)
        perm = np.random.default_rng(seed_for(self.seed, self.node, "pass", p))
        return torch.from_numpy(perm.permutation(self.n_train)).to(device)

    def draw(self, k: int) -> dict[str, torch.Tensor]:
        """The k-th training batch of the run (k counts this node's draws from 0)."""
        p, i = divmod(k, self.batches_per_pass)
        if self._order is None or self._order[0] != p:
            self._order = (p, self._pass_order(p))
        rows = self._order[1][i * self.batch_size:(i + 1) * self.batch_size]
        mine = share(len(rows), self.rank, self.world)
        batch = {key: self.train[key].index_select(0, rows[mine]) for key in self.drawn}
        if not self.augment:
            return batch
        return self._augment(batch, k, Rows(mine.start, mine.stop - mine.start, len(rows)))

    def shard(self, rank: int, world: int) -> None:
        """Draws only process `rank`'s share (of `world`) of every batch."""
        self.rank, self.world = rank, checked_world(self.node, min(self.batch_size,
                                                                   self.n_train), world)

    def narrow(self, ports: set[str]) -> None:
        """Training batches hold only these ports (those some group's losses read); the
        others would be indexed for nothing. The numbers drawn do not change."""
        self.drawn = [key for key in self.train if key in ports]

    def _augment(self, batch: dict[str, torch.Tensor], k: int,
                 rows: Rows) -> dict[str, torch.Tensor]:
        return augmented(batch, self.node, self.seed, self.augment, self.generator, k, rows)

    def val_rows(self, i: int) -> int:
        """The rows of the i-th validation batch, all processes together."""
        return min(self.batch_size, self.n_val - (i % self.val_count) * self.batch_size)

    def val_batch(self, i: int, rows: int | None = None) -> dict[str, torch.Tensor]:
        """This process's share of the i-th validation batch (cycling); `rows` is for noise
        and ignored here."""
        start = (i % self.val_count) * self.batch_size
        mine = share(self.val_rows(i), self.rank, self.world)
        return {key: t[start + mine.start:start + mine.stop] for key, t in self.val.items()}


def checked_world(node: str, rows: int, world: int) -> int:
    """`world`, when it divides a training batch of `rows` into equal shares."""
    if rows % world:
        raise DataSourceError(node, f"batch_size {rows} does not divide among {world} "
                              "processes: each draws an equal share of every batch; make it a "
                              f"multiple of {world}")
    return world


def augmented(batch: dict[str, torch.Tensor], node: str, seed: int, ops: list,
              generator: torch.Generator, k: int, rows: Rows) -> dict[str, torch.Tensor]:
    """The batch (rows `rows` of the global batch) with its x through the augmentation ops,
    seeded by (seed, node, k)."""
    key = f"{node}.x"
    if key not in batch:
        return batch
    g = generator.manual_seed(seed_for(seed, node, "augment", k))
    x = batch[key]
    try:
        for op in ops:
            x = op(x, g, rows)
    except DataSourceError as e:
        raise DataSourceError(node, f"augment: {e.detail}") from e
    batch[key] = x
    return batch


class Noise:
    """Standard normal vectors: draw k is seeded by (seed, node, k); validation has its own."""

    val_count = 0  # as many validation batches as the data it is combined with

    def __init__(self, node: str, seed: int, dim: int, batch_size: int) -> None:
        self.node, self.seed, self.dim, self.batch_size = node, seed, dim, batch_size
        self.key = f"{node}.z"
        self.device = torch.device("cpu")
        self.batches_per_pass = 0  # endless: it sets no epoch length
        self.generator = torch.Generator()  # reseeded for every draw
        self.rank, self.world = 0, 1  # this process's share of every batch

    def shard(self, rank: int, world: int) -> None:
        """Keeps only process `rank`'s share of the numbers one process draws."""
        self.rank, self.world = rank, checked_world(self.node, self.batch_size, world)

    def to(self, device: torch.device) -> Noise:
        self.device = torch.device(device)
        return self

    def _normal(self, rows: int, *where: object) -> dict[str, torch.Tensor]:
        g = self.generator.manual_seed(seed_for(self.seed, self.node, *where))
        z = torch.randn(rows, self.dim, generator=g)[share(rows, self.rank, self.world)]
        return {self.key: to_device(z, self.device)}  # drawn on the CPU: the same anywhere

    def draw(self, k: int) -> dict[str, torch.Tensor]:
        return self._normal(self.batch_size, k)

    def val_rows(self, i: int) -> int:
        """The rows of a validation batch of noise alone, all processes together."""
        return self.batch_size

    def val_batch(self, i: int, rows: int | None = None) -> dict[str, torch.Tensor]:
        """This process's share of `rows` (all processes' rows of the data it goes with)."""
        return self._normal(rows or self.batch_size, "val", i)

    def narrow(self, ports: set[str]) -> None:
        """Noise has one port: nothing to leave out."""

    def close(self) -> None:
        """Noise holds nothing to release."""


class GlobalBatchNorm(nn.Module):
    """A batch norm (any dimension) whose training statistics are the global batch's.

    Gradients flow through the summed statistics (the all_reduce's backward sums them too),
    so with gradients averaged across processes afterwards they equal one process's."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps, self.momentum = norm.eps, norm.momentum
        self.affine, self.track = norm.affine, norm.track_running_stats
        self.weight, self.bias = norm.weight, norm.bias
        if self.track:
            self.register_buffer("running_mean", norm.running_mean)
            self.register_buffer("running_var", norm.running_var)
            self.register_buffer("num_batches_tracked", norm.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and self.track:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        local = torch.tensor([x.numel() / x.shape[1]], device=x.device, dtype=x.dtype)
        total = summed(torch.cat([x.sum(dims), local]))
        n = total[-1]
        mean = total[:-1] / n
        centred = x - mean.view(shape)
        var = summed((centred * centred).sum(dims)) / n
        if self.training and self.track:
            self._track(mean.detach(), var.detach(), n.item())
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def _track(self, mean: torch.Tensor, var: torch.Tensor, n: float) -> None:
        """Running statistics as torch's batch norm keeps them (unbiased variance)."""
        self.num_batches_tracked += 1
        factor = self.momentum if self.momentum is not None \
            else 1.0 / float(self.num_batches_tracked)
        with torch.no_grad():
            self.running_mean.lerp_(mean, factor)
            self.running_var.lerp_(var * (n / max(n - 1, 1)), factor)


def summed(t: torch.Tensor) -> torch.Tensor:
    """`t` summed across processes, differentiably (its gradient is summed too)."""
    return collective(dist_fn.all_reduce, t)


def synchronise_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """The model with every batch norm computing global-batch statistics; state_dict keys stay
    as they were, so checkpoints move between runs with and without it."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, GlobalBatchNorm(child))
        else:
            synchronise_batchnorm(child, device)
    return model


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


def json_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as JSON can hold it: a preview's arrays encoded, anything else as it is."""
    if event.get("kind") != "preview":
        return event
    return {**event, "outputs": encode_outputs(event["outputs"])}


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


def script_parser(program: Program, script_dir: Path | None = None) -> argparse.ArgumentParser:
    about = f"Trains {program.name!r} as Model Composer does; metrics are one JSON object a line."
    if "%(prog)" in about:  # argparse then %-formats the text: the name's own % stay as they are
        about = about.replace("%", "%%")
    parser = argparse.ArgumentParser(description=about)
    parser.add_argument("--epochs", type=int, help=f"epochs to train (default {program.epochs})")
    parser.add_argument("--steps", type=int, help="stop after this many steps in all")
    parser.add_argument("--seed", type=int, help=f"random seed (default {program.seed})")
    parser.add_argument("--device", help=f"cpu, cuda, mps or auto (default {program.device})")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help=f"forward passes in this precision (default {program.precision})")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction,
                        help="run the model through torch.compile (default "
                        f"{'on' if program.compile else 'off'})")
    parser.add_argument("--metrics-out", type=Path, help="write metrics here (JSON lines)")
    parser.add_argument("--resume", type=Path, help="continue from this checkpoint")
    parser.add_argument("--out", type=Path, default=Path("run"),
                        help="folder for checkpoints (default ./run)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also keep a checkpoint every N steps")
    parser.add_argument("--events", metavar="PATH",
                        help="write every training event here, one JSON object a line "
                        "('-': stdout)")
    parser.add_argument("--tensorboard", type=Path, metavar="DIR",
                        help="also write the curves (and preview images) for TensorBoard "
                        "here; needs the tensorboard package")
    parser.add_argument("--watch", type=watch_list, metavar="NODE.PORT,...",
                        help="send these outputs, computed on a fixed validation batch, as "
                        "preview events after each epoch")
    where = "this script's folder" if script_dir is not None else "the current folder"
    parser.add_argument("--data-dir", type=Path, default=script_dir,
                        help=f"where relative data paths start (default: {where})")
    return parser


def watch_list(text: str) -> list[str]:
    """`--watch g_img.out,d.x`: the outputs, in order, each once."""
    return list(dict.fromkeys(ref.strip() for ref in text.split(",") if ref.strip()))


def print_epoch(event: dict[str, Any]) -> None:
    """One line on stderr per validation: the mean loss (and accuracy) of each loss node;
    and, for a compiled model, how long its first step (which compiles) took."""
    if "compile_s" in event:
        print(compile_line(event["compile_s"]), file=sys.stderr)
    if event["kind"] != "epoch":
        return
    parts = [f"{node} {value:.4f}" for node, value in event["val"].items()]
    parts += [f"{node} acc {value:.3f}" for node, value in event["accuracy"].items()]
    print(f"epoch {event['epoch']} (step {event['step']}): {', '.join(parts)}", file=sys.stderr)


def plain_warning(message: Warning | str, category: type, filename: str, lineno: int,
                  line: str | None = None) -> str:
    """A warning as one line (`warning: t: batch_size 64 is more than ...`), without the source line
    that raised it."""
    return f"warning: {message}\n"


@contextlib.contextmanager
def plain_warnings() -> Iterator[None]:
    """Warnings print as one line each while the block runs."""
    previous, warnings.formatwarning = warnings.formatwarning, plain_warning
    try:
        yield
    finally:
        warnings.formatwarning = previous


class EventStream:
    """Every training event as one JSON object a line, flushed at once, so that a program
    watching the run (the application) sees each step as it ends. A reader that goes away (a
    closed pipe) asks the run to stop: it ends after its step with its checkpoint."""

    def __init__(self, path: str | Path | None) -> None:
        self.gone = False
        self.file: TextIO | None = None
        if path is not None:
            self.file = sys.stdout if str(path) == "-" else open(path, "w", encoding="utf-8")

    def __call__(self, event: dict[str, Any]) -> str | None:
        if self.file is not None and not self.gone:
            try:
                self.file.write(json.dumps(json_event(event)) + "\n")
                self.file.flush()
            except BrokenPipeError:
                self.gone = True
                # Writes to the closed pipe would fail again at exit: they go nowhere now.
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.file.fileno())
        return "stop" if self.gone else None

    def error(self, error: Exception) -> None:
        """The last event of a failed run: its one-line message and the place it names."""
        self({"kind": "error", "message": str(error), "node": getattr(error, "node", None),
              "group": getattr(error, "group", None), "step": getattr(error, "step", None)})

    def close(self) -> None:
        if self.file is not None and self.file is not sys.stdout:
            self.file.close()


class StopOnSignal:
    """While the block runs, SIGTERM or SIGINT ends the run after its current step as a stop
    (the last validation and the checkpoint are written), not in the middle of an update; a
    second signal ends the process at once. Handlers exist only on the main thread."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self.told = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            return
        self.received = number

    def __call__(self, event: dict[str, Any]) -> str | None:
        if self.received is None:
            return None
        if not self.told:
            self.told = True
            print(f"{signal.Signals(self.received).name}: stopping after this step (send it "
                  "again to end at once)", file=sys.stderr)
        return "stop"


def all_of(*callbacks: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """One training callback that calls each in turn: "stop" when any of them says so, else
    "preview" when any asks for one."""
    def call(event: dict[str, Any]) -> str | None:
        answers = [callback(event) for callback in callbacks]
        return next((a for a in ("stop", "preview") if a in answers), None)
    return call


def command_line(program: Program, argv: list[str] | None = None,
                 script_dir: Path | None = None) -> int:
    """Parses the options, trains, and returns the exit status (1 with a message on failure).

    `script_dir`, the exported script's own folder, is where relative data paths start unless
    `--data-dir` says otherwise; it travels with the script, so a moved copy finds its data.
    """
    args = script_parser(program, script_dir).parse_args(argv)
    procs = processes_from_env()  # under torchrun: this process's rank among several
    rank = f"rank {procs.rank}: " if procs.many else ""
    if procs.many:
        stderr_to_launcher(procs.rank)
    try:
        events = EventStream(args.events if procs.rank == 0 else None)  # rank 0 reports
    except OSError as e:
        print(f"error: cannot write events to {args.events}: {e.strerror or e}", file=sys.stderr)
        return 1
    board = None
    try:
        if args.tensorboard is not None and procs.rank == 0:  # rank 0 reports
            board = open_tensorboard(args.tensorboard)
        with plain_warnings(), StopOnSignal() as stop:
            run = train(program, epochs=args.epochs, steps=args.steps, seed=args.seed,
                        device=args.device, data_dir=args.data_dir, out_dir=args.out,
                        metrics_out=args.metrics_out, resume=args.resume,
                        checkpoint_every=args.checkpoint_every,
                        callback=all_of(events, print_epoch, stop, *([board] if board else [])),
                        precision=args.precision, compile=args.compile, procs=procs,
                        watch=args.watch)
    except (TrainingFailure, DataSourceError) as e:
        events.error(e)
        told = report_rank(procs.rank, "failed", {
            "message": f"{rank}{e}", "peer": isinstance(e, PeerLost),
            **{k: getattr(e, k, None) for k in ("node", "group", "step")}})
        if not told:  # else `composer train --nproc` prints the first process's failure
            print(f"error: {rank}{e}", file=sys.stderr)
        return 1
    finally:
        events.close()
        if board is not None:
            board.close()
    report_rank(procs.rank, "done", {"status": run.status, "step": run.steps})
    if procs.rank == 0:
        print(f"{run.status} after {run.steps} steps; checkpoint: {run.checkpoint}",
              file=sys.stderr)
    return 0


# The graph's training settings, and the command line.


PROGRAM = Program(
    name="GAN on digits",
    model=Model,
    make_data=make_data,
    make_groups=make_groups,
    losses=("d_real", "d_fake", "g_loss"),
    accuracy={},
    epochs=150,
    seed=0,
    device="auto",
    steps_per_epoch=None,
    reused={"g_img.out": ("gen",)},  # output -> the groups whose update makes it stale
)


def main(argv: list[str] | None = None) -> int:
    """Trains the model as Model Composer does; `--help` lists the options."""
    # Relative data paths start at --data-dir, by default this file's folder.
    return command_line(PROGRAM, argv, script_dir=Path(__file__).resolve().parent)


if __name__ == "__main__":
    sys.exit(main())
