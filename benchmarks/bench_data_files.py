"""What reading data files costs: a CSV table through data.csv's reader, and peeking at a large
.npy folder (memory-mapped) as shape inference and the checks do.

Prints rows per second for a generated table (numeric columns and one categorical column) and,
for a 2 GB x.npy that is never written (a sparse file), how long a peek takes and how much the
process grew. Run: `.venv/bin/python benchmarks/bench_data_files.py [--rows N]`.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.catalogue.datafiles import peek_tensor_file  # noqa: E402
from composer.runtime.table import read_table  # noqa: E402


def write_table(path: Path, rows: int, numeric: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, numeric)).round(4)
    colours = np.array(["red", "green", "blue", "yellow"])[rng.integers(0, 4, rows)]
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, rows)]
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*(f"f{i}" for i in range(numeric)), "colour", "label"])
        for r in range(rows):
            out.writerow([*values[r], colours[r], labels[r]])


def bench_table(folder: Path, rows: int, numeric: int = 10) -> None:
    path = folder / "table.csv"
    write_table(path, rows, numeric)
    start = time.perf_counter()
    table = read_table(None, path, "label", None, "classification", ["colour"])
    took = time.perf_counter() - start
    size = path.stat().st_size / 2**20
    print(f"data.csv: {rows:,} rows x {numeric + 2} columns ({size:.1f} MiB) -> x "
          f"{table.arrays['x'].shape} in {took:.2f} s ({rows / took:,.0f} rows/s)")


def bench_npy_peek(folder: Path, rows: int = 500_000, width: int = 1000) -> None:
    (folder / "big").mkdir()
    x = np.lib.format.open_memmap(folder / "big" / "x.npy", "w+", np.float32, (rows, width))
    del x
    np.save(folder / "big" / "y.npy", np.arange(rows, dtype=np.int64) % 10)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    peek_tensor_file(folder / "big", "x", "y")
    took = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    gib = rows * width * 4 / 2**30
    print(f"data.tensors: peek at x.npy of {gib:.1f} GiB ({rows:,} x {width}) and y.npy: "
          f"{took * 1000:.0f} ms, process grew {grown:.0f} MiB (y alone is "
          f"{rows * 8 / 2**20:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the CSV table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_table(Path(tmp), args.rows)
        bench_npy_peek(Path(tmp))


if __name__ == "__main__":
    main()
