"""How long listing a graph's runs and diffing two graphs take: `composer runs FILE` and the
Training panel read every run folder's record when they list.

    python benchmarks/bench_runs.py [N]

Makes N run folders of the GAN sample (copies of one real 20-step run, each with its own
record) in a temporary folder, and prints the time to list them, to read one run's metrics
and graph, and to diff the sample with a changed copy of itself.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int = 5) -> float:
    """The median of `repeat` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(count: int) -> None:
    import composer
    from composer import cli
    from composer.graph_diff import diff_graphs
    from composer.runs import RECORD_FILE, list_runs, load_run, runs_root

    work = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    sample = work / "gan_digits.graph.json"
    shutil.copyfile(ROOT / "samples" / sample.name, sample)
    out = runs_root(sample) / "first"
    cli.main(["train", str(sample), "--steps", "20", "--out", str(out)])
    record = json.loads((out / RECORD_FILE).read_text())
    for i in range(1, count):
        folder = out.with_name(f"run{i:05d}")
        shutil.copytree(out, folder)
        (folder / RECORD_FILE).write_text(json.dumps(record | {"id": folder.name}))
    runs, skipped = list_runs(runs_root(sample))
    assert len(runs) == count and not skipped
    graph = composer.load(sample)
    changed = graph.copy()
    changed.groups[0].optimizer["lr"] = 0.0002
    run = load_run(out)
    print(f"list {count} runs: {timed(lambda: list_runs(runs_root(sample))):.1f} ms")
    print(f"one run's metrics (20 steps) and graph: "
          f"{timed(lambda: (run.metrics(), run.graph())):.1f} ms")
    print(f"diff the GAN sample ({len(graph.nodes)} nodes, {len(graph.networks)} network): "
          f"{timed(lambda: diff_graphs(graph, changed)):.2f} ms -> {diff_graphs(graph, changed)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
