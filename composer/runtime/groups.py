"""Optimiser groups: what each one updates, what it minimises, and when."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from composer.runtime.schedules import Schedule


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
