"""A sweep one run at a time against K runs at a time: the wall time of `composer sweep` over
the multi-task sample's learning rate (four values), for each K, and the time one run's process
takes to start (a `composer train --steps 1`), which parallel runs pay each.

    python benchmarks/bench_sweep.py [--steps N] [--parallel 1,2] [--values 0.01,0.003,...]

Each sweep runs in a fresh process, its runs in a temporary copy of the sample's folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "multitask_digits.graph.json"


def timed(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--parallel", default="1,2")
    parser.add_argument("--values", default="0.01,0.003,0.001,0.0003")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    graph = work / SAMPLE.name
    shutil.copyfile(SAMPLE, graph)
    composer = [sys.executable, "-m", "composer"]
    start_up = timed([*composer, "train", str(graph), "--steps", "1", "--out",
                      str(work / "one")])
    print(f"{os.cpu_count()} cores; one run's process, start to end of 1 step: {start_up:.1f} s")
    count = len(args.values.split(","))
    for k in (int(x) for x in args.parallel.split(",")):
        seconds = timed([*composer, "sweep", str(graph), "--set", "group joint: lr",
                         "--values", args.values, "--steps", str(args.steps),
                         "--parallel", str(k)])
        print(f"{count} runs of {args.steps} steps, {k} at a time: {seconds:.1f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
