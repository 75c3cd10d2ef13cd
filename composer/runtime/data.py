"""Data sources: arrays from each kind of data node, split by the seed, drawn as batches.

Every batch is a pure function of (seed, node, draw number), so a resumed run draws exactly
what an uninterrupted one would.
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from composer.runtime.arrays import load_arrays
from composer.runtime.augment import Rows
from composer.runtime.distributed import share
from composer.runtime.errors import DataSourceError, DataWarning


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


def tensor_arrays(node: str, path: Path, x_key: str, y_key: str | None) -> dict[str, Any]:
    """x as float32; y (when there is a y_key) as int64 class ids when it holds integers, else
    float32 targets. A big or memory-mapped array is converted a batch at a time, as it is
    read: converting it here would read the whole file."""
    try:
        x, y = load_arrays(path, x_key, y_key)
    except DataSourceError as e:
        raise DataSourceError(node, e.detail) from e
    wanted = {"x": (x, np.float32)}
    if y is not None:
        wanted["y"] = (y, np.int64 if np.issubdtype(y.dtype, np.integer) else np.float32)
    return {port: LazyRows(a, dtype) if is_big(a) else a.astype(dtype)
            for port, (a, dtype) in wanted.items()}


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


def shapes_arrays(node: str, seed: int, size: int, count: int) -> dict[str, np.ndarray]:
    """One filled circle (0), square (1) or triangle (2) per image, with its box in [0,1]."""
    rng = np.random.default_rng(seed_for(seed, "shapes", size, count))
    label = rng.integers(0, 3, count)
    half = rng.uniform(0.15, 0.35, count) * size  # radius, or half the side
    cx = rng.uniform(half, size - half)
    cy = rng.uniform(half, size - half)
    centres = np.arange(size, dtype=np.float64) + 0.5
    dx = centres[None, None, :] - cx[:, None, None]
    dy = centres[None, :, None] - cy[:, None, None]
    r = half[:, None, None]
    circle = dx**2 + dy**2 <= r**2
    square = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    triangle = (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)  # apex at the top
    kind = label[:, None, None]
    image = np.where(kind == 0, circle, np.where(kind == 1, square, triangle))
    box = np.stack([cx - half, cy - half, cx + half, cy + half], axis=1) / size
    return {"x": image.astype(np.float32)[:, None], "y": label.astype(np.int64),
            "box": box.astype(np.float32)}


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
