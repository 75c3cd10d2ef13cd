"""How long `composer.check` takes on realistic graphs of 100, 1,000 and 5,000 nodes.

Prints the structure checks, shape inference (cold: memo cleared; warm: memo filled) and the
total, each the median of a few runs, for "towers" (CNN towers of conv/bn/relu/pool blocks with
residuals, merges, heads, losses and a group each, over three data sources) and for a chain in
which every node is distinct (the memo's worst case).
Run: `.venv/bin/python benchmarks/bench_check.py`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.analysis import shapes  # noqa: E402
from composer.analysis.checks import check, structure_diagnostics  # noqa: E402
from composer.graph import Edge, Graph, Group, Node  # noqa: E402


class _Builder:
    """Adds nodes with fresh ids and wires them; tracks each tower's members and losses."""

    def __init__(self, seed: int) -> None:
        self.graph = Graph("bench")
        self.rng = random.Random(seed)
        self.count = 0

    def add(self, type_id: str, inputs: dict[str, str] | None = None, **params) -> str:
        self.count += 1
        node_id = f"{type_id.split('.')[1]}_{self.count}"
        self.graph.nodes[node_id] = Node(node_id, type_id, params)
        for port, src in (inputs or {}).items():
            src_node, src_port = src.split(".")
            self.graph.edges.append(Edge(src_node, src_port, node_id, port))
        return node_id

    def conv_block(self, x: str, channels: int) -> str:
        c = self.add("layer.conv2d", {"in": x}, out_channels=channels, padding=1)
        b = self.add("layer.batchnorm2d", {"in": f"{c}.out"})
        return f"{self.add('layer.relu', {'in': f'{b}.out'})}.out"


def _tower(b: _Builder, image: str, label: str, size: int, blocks: int) -> tuple[str, list]:
    """A CNN of conv/bn/relu blocks with pools, a residual and a two-branch merge; its loss."""
    rng = b.rng
    start = b.count
    x, channels = image, rng.choice([8, 16])
    for i in range(blocks):
        channels = min(64, channels * rng.choice([1, 1, 2]))
        x = b.conv_block(x, channels)
        if i % 3 == 2 and size >= 4:
            x = f"{b.add('layer.maxpool2d', {'in': x})}.out"
            size //= 2
        if i % 4 == 3:
            x = f"{b.add('block.residual', {'in': x}, out_channels=channels)}.out"
        if i % 5 == 4:
            left = b.conv_block(x, channels)
            right = f"{b.add('block.conv_bn_relu', {'in': x}, out_channels=channels)}.out"
            kind = rng.choice(["merge.concat", "merge.add"])
            x = f"{b.add(kind, {'in0': left, 'in1': right})}.out"
            channels = channels * 2 if kind == "merge.concat" else channels
    pooled = b.add("layer.adaptive_avgpool2d", {"in": x})
    flat = b.add("layer.flatten", {"in": f"{pooled}.out"})
    hidden = b.add("layer.linear", {"in": f"{flat}.out"}, out_features=64)
    act = b.add("layer.relu", {"in": f"{hidden}.out"})
    drop = b.add("layer.dropout", {"in": f"{act}.out"}, p=0.2)
    logits = b.add("layer.linear", {"in": f"{drop}.out"}, out_features=10)
    loss = b.add("loss.cross_entropy", {"pred": f"{logits}.out", "target": label})
    members = [n for n in list(b.graph.nodes)[start:] if b.graph.nodes[n].node_type.module]
    return loss, members


def build_graph(size: int, seed: int = 0) -> Graph:
    """About `size` nodes: towers over a few data sources, each tower its own group."""
    b = _Builder(seed)
    sources = [("data.digits", 8, {}), ("data.shapes", 32, {"size": 32}),
               ("data.shapes", 16, {"size": 16})]
    data = [(b.add(t, **p), s) for t, s, p in sources]
    tower = 0
    while b.count < size:
        node, image_size = data[tower % len(data)]
        blocks = b.rng.randint(4, 12)
        loss, members = _tower(b, f"{node}.x", f"{node}.y", image_size, blocks)
        b.graph.groups.append(Group(f"g{tower}", members=members, losses=[loss]))
        tower += 1
    return b.graph


def build_distinct_chain(size: int) -> Graph:
    """The worst case for the memo: conv/bn/relu with a different channel count at every conv,
    so no two nodes share (type, params, input shapes)."""
    b = _Builder(0)
    x = f"{b.add('data.shapes', size=16)}.x"
    kinds = ["layer.conv2d", "layer.batchnorm2d", "layer.relu"]
    while b.count < size:
        kind = kinds[b.count % 3]
        params = {"out_channels": 4 + b.count, "padding": 1} if kind == "layer.conv2d" else {}
        x = f"{b.add(kind, {'in': x}, **params)}.out"
    return b.graph


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _cold_infer(graph: Graph) -> None:
    shapes.clear_cache()
    shapes.infer(graph)


def _cold_check(graph: Graph) -> None:
    shapes.clear_cache()
    check(graph)


def measure(graph: Graph, runs: int) -> dict[str, float]:
    """Median milliseconds of each part of `check` on one graph."""
    return {
        "structure": _median_ms(lambda: structure_diagnostics(graph), runs),
        "infer cold": _median_ms(lambda: _cold_infer(graph), runs),
        "infer warm": _median_ms(lambda: shapes.infer(graph), runs),
        "check cold": _median_ms(lambda: _cold_check(graph), runs),
        "check warm": _median_ms(lambda: check(graph), runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    shapes.infer(build_graph(50, seed=99))
    loaded = "loaded torch" if "torch" in sys.modules else "no torch"
    print(f"first inference in this process ({loaded}): "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")
    print(f"{'graph':>8} {'nodes':>6} {'edges':>6} {'unique':>6}" + "".join(
        f"{name:>12}" for name in ("structure", "infer cold", "infer warm", "check cold",
                                   "check warm")) + f"   (ms, median of {args.runs})")
    graphs = [("towers", build_graph(size)) for size in args.sizes]
    graphs.append(("distinct", build_distinct_chain(1000)))
    for family, graph in graphs:
        shapes.clear_cache()
        shapes.infer(graph)
        unique = len(shapes._CACHE)  # distinct (type, params, input shapes) evaluated
        times = measure(graph, args.runs)
        print(f"{family:>8} {len(graph.nodes):>6} {len(graph.edges):>6} {unique:>6}"
              + "".join(f"{t:>12.1f}" for t in times.values()))


if __name__ == "__main__":
    main()
