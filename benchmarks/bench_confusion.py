"""What the Results page's classifier views and TensorBoard logs cost.

For each classifier sample on the digits (and the wine table), trains a few steps, then prints
the median time of `confusion_matrices` (what the window computes when a run ends: the
program, the validation data, one pass over the validation split) and the median step time of
`composer.train` with and without `tensorboard=DIR` (the logs' cost per step).
Run: `.venv/bin/python benchmarks/bench_confusion.py [--steps N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import composer  # noqa: E402
from composer.confusion import confusion_matrices  # noqa: E402

SAMPLES = ["hierarchical_digits", "multitask_digits", "parallel_concat_digits",
           "attention_digits", "modalities_digits", "multidataset_digits_shapes", "table_wine"]


def _median_s(fn, rounds: int, **kwargs) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(**kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, steps: int, rounds: int, logs: Path) -> str:
    """One sample's line: its classes, validation rows, confusion time and step times."""
    graph = composer.load(ROOT / "samples" / f"{name}.graph.json")
    model = composer.train(graph, steps=steps).model
    found = confusion_matrices(graph, model)
    took = _median_s(confusion_matrices, rounds, graph=graph, model=model)
    plain = _median_s(composer.train, rounds, graph=graph, steps=steps)
    logged = _median_s(composer.train, rounds, graph=graph, steps=steps, tensorboard=logs)
    return (f"{name:<28} {','.join(str(len(c.classes)) for c in found):>8} "
            f"{','.join(str(c.total) for c in found):>8} {1000 * took:>8.0f}ms "
            f"{1000 * plain / steps:>7.1f}ms {1000 * logged / steps:>7.1f}ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"{'sample':<28} {'classes':>8} {'val rows':>8} {'confusion':>10} "
          f"{'step':>9} {'step+tb':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in SAMPLES:
            print(measure(name, args.steps, args.rounds, Path(tmp) / name))
    print("(step: a whole run's time over its steps, validation and setup included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
