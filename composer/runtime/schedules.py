"""When a group updates, and at what learning rate: pure functions of the step and update count.

A group updates at global step s of epoch e when `s % every == offset` and
`first_epoch <= e < end_epoch`, `repeat` times in a row. Its learning rate for update k
(counted from 0 over the whole run) is `lr_at(k, base_lr, planned)`, where `planned` is how
many updates the group makes in the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def step_lr(k: int, base_lr: float, planned: int, step_size: int, gamma: float) -> float:
    """Multiplied by gamma every step_size updates."""
    return base_lr * gamma ** (k // step_size)


def exponential_lr(k: int, base_lr: float, planned: int, gamma: float) -> float:
    """Multiplied by gamma after every update."""
    return base_lr * gamma**k


def cosine_lr(k: int, base_lr: float, planned: int, total_steps: int | None = None,
              min_lr: float = 0.0) -> float:
    """Half a cosine from base_lr down to min_lr over total_steps (default: planned) updates."""
    total = max(1, total_steps or planned)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * min(k, total) / total)) / 2


def warmup_cosine_lr(k: int, base_lr: float, planned: int, warmup_steps: int,
                     total_steps: int | None = None, min_lr: float = 0.0) -> float:
    """Linear warm-up over warmup_steps updates (the first at base_lr / warmup_steps), then
    half a cosine down to min_lr by update total_steps (default: planned)."""
    if k < warmup_steps:
        return base_lr * (k + 1) / warmup_steps
    span = max(1, (total_steps or planned) - warmup_steps)
    done = min(k - warmup_steps, span)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * done / span)) / 2
