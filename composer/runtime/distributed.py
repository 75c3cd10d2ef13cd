"""Training in several processes launched by torchrun: which process this is, and the few
collective operations the loop needs (gradient averaging per group, loss means, stop flags).

Each optimiser group averages the gradients of its own parameters after its own backward, so
every schedule works as in one process: parameters another group owns, frozen ones and those
a loss did not reach are never waited for (what makes a DDP-wrapped GAN fail).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from composer.runtime.errors import TrainingFailure

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
