"""Streaming an image folder: `composer train` against a hand-written PIL Dataset and torch
DataLoader (2 workers) with the same model, on a 20,000-image RGB 32x32 folder and a
100,000-image 64x64 one.

    python benchmarks/bench_data.py [--cache DIR] [--steps 50] [--repeat 3] [--only 20000]

The folders (10 class folders of random-noise PNGs) are written once into --cache (default: a
folder under the system's temporary directory) and reused. Each pipeline runs in a fresh
process; the table shows the time from process start to the end of the first step, steps per
second after the first, and peak resident memory of the process and its children (the
workers), with composer / hand-written ratios. Figures are printed, not asserted. On a busy
machine with few cores, steps per second swing by several times from run to run (torch's
threads and the decoding workers compete for the cores): --repeat takes medians.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = 10
FOLDERS = {20_000: 32, 100_000: 64}  # images -> side in pixels
BATCH = 64
BYTES_PER_IMAGE = {32: 3_300, 64: 12_700}  # a noise PNG, plus a file system block's slack


# --- the image folders ---------------------------------------------------------------------

def _write_images(job: tuple[str, int, int, int]) -> None:
    import numpy as np
    from PIL import Image

    folder, start, stop, side = job
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(Path(folder) / f"c{i % CLASSES}" / f"{i:06d}.png")


def image_folder(cache: Path, count: int, side: int) -> Path | str:
    """The folder of `count` images, written now unless a complete one is cached; or the
    reason it cannot be written."""
    folder = cache / f"images_{count}_{side}px"
    done = folder / "complete"
    if done.exists():
        return folder
    need = count * BYTES_PER_IMAGE[side]
    free = shutil.disk_usage(cache).free
    if free < 2 * need:
        return f"needs about {need / 1e9:.1f} GB and {free / 1e9:.1f} GB are free in {cache}"
    for c in range(CLASSES):
        (folder / f"c{c}").mkdir(parents=True, exist_ok=True)
    chunk = 1000
    jobs = [(str(folder), s, min(s + chunk, count), side) for s in range(0, count, chunk)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_write_images, jobs)
    done.write_text("")
    print(f"wrote {count} images of {side}x{side} in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return folder


# --- the two pipelines, each run in a fresh process --------------------------------------

def graph_file(folder: Path, side: int, out: Path) -> Path:
    """data.image_folder -> conv, relu, pool, conv, relu, pool, flatten, linear -> ce."""
    sys.path.insert(0, str(ROOT))
    from composer.fileformat import save
    from composer.graph import Edge, Graph, Group, Node, Training

    conv = {"kernel_size": 3, "padding": 1}
    chain = [("c1", "layer.conv2d", {"out_channels": 16, **conv}), ("r1", "layer.relu", {}),
             ("p1", "layer.maxpool2d", {"kernel_size": 2}),
             ("c2", "layer.conv2d", {"out_channels": 32, **conv}), ("r2", "layer.relu", {}),
             ("p2", "layer.maxpool2d", {"kernel_size": 2}), ("f", "layer.flatten", {}),
             ("fc", "layer.linear", {"out_features": CLASSES})]
    g = Graph("bench data")
    g.nodes = {"imgs": Node("imgs", "data.image_folder", {
        "path": str(folder), "size": side, "batch_size": BATCH, "split": [1.0, 0.0, 0.0]})}
    g.nodes |= {i: Node(i, t, p) for i, t, p in chain}
    g.nodes["ce"] = Node("ce", "loss.cross_entropy", {})
    g.edges = [Edge("imgs", "x", "c1", "in"), Edge("fc", "out", "ce", "pred"),
               Edge("imgs", "y", "ce", "target")]
    g.edges += [Edge(a[0], "out", b[0], "in") for a, b in zip(chain, chain[1:], strict=False)]
    g.groups = [Group("g", ["c1", "c2", "fc"], ["ce"],
                      optimizer={"type": "adam", "lr": 0.001})]
    g.training = Training(epochs=1, seed=0, device="cpu")
    path = out / f"bench_{folder.name}.graph.json"
    save(g, path)
    return path


COMPOSER = r"""
import time
t0 = time.perf_counter()
import sys, json
from composer.fileformat import load
from composer.train import train

steps = []
def callback(event):
    if event["kind"] == "step":
        steps.append(time.perf_counter())

train(load(sys.argv[1]), steps=int(sys.argv[2]), callback=callback)
print(json.dumps({"first": steps[0] - t0, "rest": steps[-1] - steps[0], "n": len(steps)}))
"""

HAND_WRITTEN = r"""
import time
t0 = time.perf_counter()
import sys, json
from pathlib import Path
import numpy as np
import torch
from torch import nn
from PIL import Image


class Folder(torch.utils.data.Dataset):
    def __init__(self, root):
        classes = sorted(p for p in Path(root).iterdir() if p.is_dir())
        self.items = [(f, c) for c, d in enumerate(classes) for f in sorted(d.iterdir())]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        f, c = self.items[i]
        with Image.open(f) as im:
            x = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(x.transpose(2, 0, 1)), c


def main():
    root, side, steps = sys.argv[1], int(sys.argv[3]), int(sys.argv[2])
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(Folder(root), batch_size=64, shuffle=True,
                                         num_workers=2, drop_last=True)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * (side // 4) ** 2, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    times = []
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter())
        if len(times) == steps:
            break
    print(json.dumps({"first": times[0] - t0, "rest": times[-1] - times[0], "n": len(times)}))


if __name__ == "__main__":
    main()
"""


def measure(code: str, *args: str) -> dict[str, float]:
    """Runs `code` in a fresh interpreter: its figures, the peak RSS of its largest process
    (the kernel's count) and the peak of the whole tree's proportional set size (sampled)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen([sys.executable, f.name, *args], stdout=out, stderr=err,
                                     env=env, cwd=tempfile.gettempdir())
            tree_peak = 0
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                tree_peak = max(tree_peak, tree_pss(child.pid))
                time.sleep(0.05)
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        os.unlink(f.name)
    if child.returncode != 0:
        raise SystemExit(f"a pipeline failed:\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["rate"] = (figures["n"] - 1) / figures["rest"] if figures["n"] > 1 else 0.0
    figures["rss"] = usage.ru_maxrss * 1024  # kilobytes on Linux
    figures["tree"] = tree_peak
    return figures


def tree_pss(pid: int) -> int:
    """Bytes of memory of a process and its descendants, shared pages counted once."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += 1024 * int(next(line.split()[1] for line in rollup.splitlines()
                                     if line.startswith("Pss:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue  # it ended meanwhile
    return total


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "composer_bench_data")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each pipeline; the table shows the medians")
    parser.add_argument("--only", type=int, choices=sorted(FOLDERS), action="append",
                        help="measure only this folder size (repeatable)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for count in args.only or sorted(FOLDERS):
        side = FOLDERS[count]
        folder = image_folder(args.cache, count, side)
        if isinstance(folder, str):
            print(f"{count} images: skipped, {folder}")
            continue
        graph = graph_file(folder, side, args.cache)
        runs = [(measure(COMPOSER, str(graph), str(args.steps)),
                 measure(HAND_WRITTEN, str(folder), str(args.steps), str(side)))
                for _ in range(args.repeat)]  # alternated, so both meet the same load
        rows.append((count, side, *(median([r[i] for r in runs]) for i in (0, 1))))
    print_table(rows)
    return 0


def print_table(rows: list) -> None:
    """One line per pipeline and folder, then composer / hand-written."""
    keys = ("first", "rate", "rss", "tree")
    print(f"{'folder':>16} {'pipeline':>12} {'first step s':>12} {'steps/s':>8} "
          f"{'peak RSS GB':>11} {'tree PSS GB':>11}")
    for count, side, ours, theirs in rows:
        name = f"{count} x {side}px"
        for label, f in (("composer", ours), ("hand-written", theirs)):
            print(f"{name:>16} {label:>12} {f['first']:12.2f} {f['rate']:8.1f} "
                  f"{f['rss'] / 1e9:11.2f} {f['tree'] / 1e9:11.2f}")
        ratios = [ours[k] / theirs[k] if theirs[k] else float("nan") for k in keys]
        print(f"{name:>16} {'ratio':>12} {ratios[0]:12.2f} {ratios[1]:8.2f} "
              f"{ratios[2]:11.2f} {ratios[3]:11.2f}")


if __name__ == "__main__":
    sys.exit(main())
