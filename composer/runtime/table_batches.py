"""A data.csv node's batch source: the table's arrays drawn as any arrays are, and the class
values its ids stand for, which the checkpoint keeps (kept apart from table.py, which checking
a graph reads without torch)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from composer.runtime.data import Batches
from composer.runtime.table import read_table


def table_batches(node: str, seed: int, path: Path, target: str,
                  features: Sequence[str] | None, task: str, categorical: Sequence[str],
                  batch_size: int, split: tuple[float, float, float],
                  shuffle: bool = True) -> Batches:
    """Batches over the table; `.classes` lists the target value of each class id (None for
    regression), for the checkpoint."""
    table = read_table(node, path, target, features, task, categorical)
    batches = Batches(node, seed, table.arrays, batch_size=batch_size, split=split,
                      shuffle=shuffle)
    batches.classes = table.classes
    return batches
