"""Batches decoded on demand, in the training process or in worker processes.

A DataLoader's dataset here has one item per batch: item ("train", k) is the k-th training
batch, item ("val", i) the i-th validation batch. Each is a pure function of (seed, node, k),
computed the same way in any process, so the worker count changes when a batch is ready, never
what it holds. The loader asks for keys in sequence and prefetches a few; when the loop asks
for another key (after a resume, or for validation), the sequence restarts there.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from composer.runtime.augment import Rows
from composer.runtime.data import augmented, checked_world, seed_for, split_rows, to_device
from composer.runtime.distributed import share
from composer.runtime.errors import DataSourceError

PREFETCH = 2  # batches each worker decodes ahead


def default_workers() -> int:
    """What the machine allows: a worker per available CPU, at most 8; none where processes
    cannot be forked (the generated program could not be imported by a spawned one)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, 8)


class _Keys(Sampler):
    """("train" or "val", j), ("...", j + 1), ... from the key the stream last restarted at."""

    def __init__(self) -> None:
        self.first: tuple[str, int] = ("train", 0)

    def __iter__(self):
        kind, j = self.first
        return ((kind, n) for n in itertools.count(j))


class _OneBatchPerItem(Dataset):
    """Item key -> the whole batch. A DataSourceError is returned as (node, detail), not
    raised: the loader would rebuild it from its text and lose the one-line message."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __getitem__(self, key: tuple[str, int]) -> Any:
        try:
            return self.make(*key)
        except DataSourceError as e:
            return (e.node, e.detail)


class StreamedBatches:
    """A data node whose rows are read when a batch needs them (an image folder): the same
    splits, pass order and augmentation as Batches, computed per batch on the CPU.

    `rows` answers `len(rows)` and `rows.rows(index, rngs) -> {port: array}`; `workers` is the
    number of worker processes (0: decode in this process; None: default_workers()).
    """

    def __init__(self, node: str, seed: int, rows: Any, batch_size: int,
                 split: tuple[float, float, float], shuffle: bool = True,
                 augment: tuple | list = (), workers: int | None = None) -> None:
        self.node, self.seed, self.rows, self.batch_size = node, seed, rows, batch_size
        self.shuffle, self.augment = shuffle, list(augment)
        self.train, self.val, _ = split_rows(node, seed, len(rows), split, batch_size)
        self.batches_per_pass = max(1, len(self.train) // batch_size)
        self.val_count = -(-len(self.val) // batch_size)  # batches, the last one partial
        forks = "fork" in multiprocessing.get_all_start_methods()
        self.workers = default_workers() if workers is None else workers if forks else 0
        self.device = torch.device("cpu")
        self.drawn: list[str] | None = None  # all ports, unless narrowed
        self.generator = torch.Generator()  # reseeded for every batch
        self.rank, self.world = 0, 1  # this process's share of every batch
        self._order: tuple[int, np.ndarray] | None = None
        self._loader: DataLoader | None = None
        self._batches: Any = None  # the loader's iterator while it runs
        self._next: tuple[str, int] | None = None  # the key it yields next

    def to(self, device: torch.device) -> StreamedBatches:
        self.device = torch.device(device)
        return self

    def narrow(self, ports: set[str]) -> None:
        """Training batches hold only these ports (those some group's losses read)."""
        self.drawn = sorted(ports)

    def shard(self, rank: int, world: int) -> None:
        """Decodes only process `rank`'s share (of `world`) of every batch."""
        rows = min(self.batch_size, len(self.train))
        self.rank, self.world = rank, checked_world(self.node, rows, world)

    def draw(self, k: int) -> dict[str, torch.Tensor]:
        """The k-th training batch of the run (k counts this node's draws from 0)."""
        return self._get(("train", k))

    def val_rows(self, i: int) -> int:
        """The rows of the i-th validation batch, all processes together."""
        return min(self.batch_size, len(self.val) - (i % self.val_count) * self.batch_size)

    def val_batch(self, i: int, rows: int | None = None) -> dict[str, torch.Tensor]:
        """This process's share of the i-th validation batch (cycling); `rows` is for noise
        and ignored here."""
        return self._get(("val", i))

    def batch(self, kind: str, j: int) -> dict[str, torch.Tensor]:
        """Training batch j or validation batch j, on the CPU: what a worker computes."""
        if kind == "val":
            start = (j % self.val_count) * self.batch_size
            index = self.val[start:start + self.batch_size]
        else:
            p, i = divmod(j, self.batches_per_pass)
            index = self.train[self._pass_order(p)[i * self.batch_size:(i + 1) * self.batch_size]]
        mine = share(len(index), self.rank, self.world)
        rngs = None if kind == "val" else [  # a random crop per global row
            np.random.default_rng(seed_for(self.seed, self.node, "crop", j, r))
            for r in range(mine.start, mine.stop)]
        batch = {f"{self.node}.{port}": torch.from_numpy(np.ascontiguousarray(a))
                 for port, a in self.rows.rows(index[mine], rngs).items()}
        if kind == "val":
            return batch
        if self.drawn is not None:
            batch = {key: t for key, t in batch.items() if key in self.drawn}
        rows = Rows(mine.start, mine.stop - mine.start, len(index))
        return augmented(batch, self.node, self.seed, self.augment, self.generator, j, rows)

    def _pass_order(self, p: int) -> np.ndarray:
        if self._order is None or self._order[0] != p:
            n = len(self.train)
            order = np.arange(n) if not self.shuffle else np.random.default_rng(
                seed_for(self.seed, self.node, "pass", p)).permutation(n)
            self._order = (p, order)
        return self._order[1]

    def _get(self, key: tuple[str, int]) -> dict[str, torch.Tensor]:
        if self.workers == 0:
            batch = self.batch(*key)
        else:
            batch = self._from_workers(key)
        return {k: to_device(t, self.device) for k, t in batch.items()}

    def _from_workers(self, key: tuple[str, int]) -> dict[str, torch.Tensor]:
        if self._batches is None or key != self._next:
            self._restart(key)
        try:
            batch = next(self._batches)
        except Exception as e:  # a worker that crashed or was killed: its last words
            self.close()
            said = [line for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
            raise DataSourceError(self.node, f"a data worker failed: {said[-1].strip()}") from e
        self._next = (key[0], key[1] + 1)
        if isinstance(batch, tuple | list):
            self.close()
            raise DataSourceError(*batch)
        return batch

    def _restart(self, key: tuple[str, int]) -> None:
        """Sends the workers (started the first time) along the keys from `key` on."""
        if self._loader is None:
            self._loader = DataLoader(
                _OneBatchPerItem(self.batch), batch_size=None, sampler=_Keys(),
                num_workers=self.workers, prefetch_factor=PREFETCH, persistent_workers=True,
                multiprocessing_context="fork", pin_memory=self.device.type == "cuda",
                generator=torch.Generator())  # leaves the global random state alone
        self._loader.sampler.first = key
        self._batches = iter(self._loader)

    def close(self) -> None:
        """Stops the worker processes, if any run: at the end of a run, after a failure."""
        batches, self._batches, self._loader, self._next = self._batches, None, None, None
        shutdown = getattr(batches, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
