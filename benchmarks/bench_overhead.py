"""Per-step overhead of training a composed graph vs the same network written by hand.

For three networks (a small CNN on digits, a multi-task trunk with two heads, a GAN), prints
the median training-step time of `composer.train` (generated model, group loop, batches,
metrics) and of a hand-written torch module and loop doing the same work per step (batch
indexing, zero_grad, forward, backward, step, reading the loss), and their ratio. Times are
the training thread's CPU time (torch runs single-threaded here by default), so other work on
the machine does not blur the comparison; `--clock wall` measures wall time instead.
Run: `.venv/bin/python benchmarks/bench_overhead.py [--steps N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import composer  # noqa: E402
from composer.graph import Edge, Graph, Group, Node  # noqa: E402


def _graph(nodes: dict, wires: list[str], groups: dict) -> Graph:
    g = Graph("bench")
    for node_id, (type_id, params) in nodes.items():
        g.nodes[node_id] = Node(node_id, type_id, params)
    for w in wires:
        (s, sp), (d, dp) = (side.strip().split(".") for side in w.split("->"))
        g.edges.append(Edge(s, sp, d, dp))
    for gid, (members, losses) in groups.items():
        g.groups.append(Group(gid, members, losses))
    return g


TRUNK = {"d": ("data.digits", {}),
         "c1": ("layer.conv2d", {"out_channels": 16, "padding": 1}), "r1": ("layer.relu", {}),
         "c2": ("layer.conv2d", {"out_channels": 32, "padding": 1}), "r2": ("layer.relu", {}),
         "p": ("layer.maxpool2d", {}), "f": ("layer.flatten", {})}
TRUNK_WIRES = ["d.x -> c1.in", "c1.out -> r1.in", "r1.out -> c2.in", "c2.out -> r2.in",
               "r2.out -> p.in", "p.out -> f.in"]


def cnn_graph() -> Graph:
    nodes = TRUNK | {"fc": ("layer.linear", {"out_features": 10}),
                     "ce": ("loss.cross_entropy", {})}
    return _graph(nodes, TRUNK_WIRES + ["f.out -> fc.in", "fc.out -> ce.pred", "d.y -> ce.target"],
                  {"g": (["c1", "c2", "fc"], ["ce"])})


def multitask_graph() -> Graph:
    nodes = TRUNK | {"cls": ("layer.linear", {"out_features": 10}),
                     "ce": ("loss.cross_entropy", {}),
                     "rec": ("layer.linear", {"out_features": 64}),
                     "img": ("layer.reshape", {"shape": [1, 8, 8]}),
                     "mse": ("loss.mse", {"weight": 0.5})}
    wires = TRUNK_WIRES + ["f.out -> cls.in", "cls.out -> ce.pred", "d.y -> ce.target",
                           "f.out -> rec.in", "rec.out -> img.in", "img.out -> mse.pred",
                           "d.x -> mse.target"]
    return _graph(nodes, wires, {"g": (["c1", "c2", "cls", "rec"], ["ce", "mse"])})


def gan_graph() -> Graph:
    nodes = {"z": ("data.noise", {"dim": 32}), "d": ("data.digits", {}),
             "g1": ("layer.linear", {"out_features": 128}), "ga": ("layer.relu", {}),
             "g2": ("layer.linear", {"out_features": 64}), "gs": ("layer.sigmoid", {}),
             "det": ("op.detach", {}),
             "fr": ("layer.flatten", {}), "d1": ("layer.linear", {"out_features": 128}),
             "da": ("layer.leaky_relu", {"negative_slope": 0.2}),
             "d2": ("layer.linear", {"out_features": 1}),
             "e1": ("layer.linear", {"out_features": 128}),
             "ea": ("layer.leaky_relu", {"negative_slope": 0.2}),
             "e2": ("layer.linear", {"out_features": 1}),
             "h1": ("layer.linear", {"out_features": 128}),
             "ha": ("layer.leaky_relu", {"negative_slope": 0.2}),
             "h2": ("layer.linear", {"out_features": 1}),
             "real": ("loss.bce_logits", {}), "fake": ("loss.bce_logits", {"target_value": 0.0}),
             "gl": ("loss.bce_logits", {})}
    wires = ["z.z -> g1.in", "g1.out -> ga.in", "ga.out -> g2.in", "g2.out -> gs.in",
             "d.x -> fr.in", "fr.out -> d1.in", "d1.out -> da.in", "da.out -> d2.in",
             "d2.out -> real.pred", "gs.out -> det.in", "det.out -> e1.in", "e1.out -> ea.in",
             "ea.out -> e2.in", "e2.out -> fake.pred", "gs.out -> h1.in", "h1.out -> ha.in",
             "ha.out -> h2.in", "h2.out -> gl.pred"]
    g = _graph(nodes, wires, {"disc": (["d1", "d2"], ["real", "fake"]),
                              "gen": (["g1", "g2"], ["gl"])})
    for a, b in (("e1", "d1"), ("e2", "d2"), ("h1", "d1"), ("h2", "d2")):
        g.nodes[a].shares = b
    return g


clock = time.thread_time  # CPU time of this thread: other processes do not blur it


def composed_steps(graph: Graph, steps: int) -> list[float]:
    stamps: list[float] = []
    composer.train(graph, steps=steps, seed=0, device="cpu",
                   callback=lambda e: stamps.append(clock())
                   if e["kind"] == "step" else None)
    return [b - a for a, b in zip(stamps[10:], stamps[11:], strict=False)]


def digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    return x[:1437], torch.tensor(digits.target[:1437])


class Trunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(F.max_pool2d(F.relu(self.c2(F.relu(self.c1(x)))), 2), 1)


def hand_cnn(steps: int, multitask: bool = False) -> list[float]:
    torch.manual_seed(0)
    x, y = digits_tensors()
    trunk, cls, rec = Trunk(), nn.Linear(512, 10), nn.Linear(512, 64)
    params = [*trunk.parameters(), *cls.parameters()] + ([*rec.parameters()] if multitask else [])
    opt = torch.optim.Adam(params, lr=0.001)
    times = []
    perm = torch.randperm(len(x))
    for s in range(steps):
        i = s % (len(x) // 64)
        if i == 0:
            perm = torch.randperm(len(x))  # a fresh order every pass, as the runtime does
        rows = perm[i * 64:(i + 1) * 64]
        xb, yb = x.index_select(0, rows), y.index_select(0, rows)
        opt.zero_grad(set_to_none=True)
        h = trunk(xb)
        loss = F.cross_entropy(cls(h), yb)
        if multitask:
            mse = F.mse_loss(rec(h).reshape(64, 1, 8, 8), xb)
            total = loss + 0.5 * mse
            total.backward()
            opt.step()
            torch.stack([loss, mse]).tolist()
        else:
            loss.backward()
            opt.step()
            loss.item()
        times.append(clock())
    return [b - a for a, b in zip(times[10:], times[11:], strict=False)]


def hand_gan(steps: int) -> list[float]:
    torch.manual_seed(0)
    x, _ = digits_tensors()
    gen = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid())
    disc = nn.Sequential(nn.Linear(64, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
    opt_d = torch.optim.Adam(disc.parameters(), lr=0.001)
    opt_g = torch.optim.Adam(gen.parameters(), lr=0.001)
    times = []
    for s in range(steps):
        real = x.index_select(0, torch.randint(len(x), (64,))).flatten(1)
        z = torch.randn(64, 32, generator=torch.Generator().manual_seed(s))
        opt_d.zero_grad(set_to_none=True)
        fake = gen(z)
        pr, pf = disc(real), disc(fake.detach())
        lr_ = F.binary_cross_entropy_with_logits(pr, torch.full_like(pr, 1.0))
        lf = F.binary_cross_entropy_with_logits(pf, torch.full_like(pf, 0.0))
        (lr_ + lf).backward()
        opt_d.step()
        torch.stack([lr_, lf]).tolist()
        opt_g.zero_grad(set_to_none=True)
        pg = disc(gen(z))
        lg = F.binary_cross_entropy_with_logits(pg, torch.full_like(pg, 1.0))
        lg.backward()
        opt_g.step()
        lg.item()
        times.append(clock())
    return [b - a for a, b in zip(times[10:], times[11:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="steps per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both (1 keeps a busy machine from adding "
                             "thread-wake-up stalls to either side)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global clock
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    cases = [("small CNN on digits", cnn_graph(), lambda n: hand_cnn(n)),
             ("multi-task trunk + 2 heads", multitask_graph(), lambda n: hand_cnn(n, True)),
             ("GAN (2 groups)", gan_graph(), hand_gan)]
    print(f"median step time ({args.clock}) over {args.rounds} rounds of {args.steps} steps, "
          f"{torch.get_num_threads()} torch thread(s)")
    print(f"{'network':28} {'composed ms':>12} {'by hand ms':>11} {'ratio':>6}")
    for name, graph, by_hand in cases:
        ours: list[float] = []
        theirs: list[float] = []
        for r in range(args.rounds):  # alternate, so drifts in machine load hit both
            if r % 2:
                theirs += by_hand(args.steps)
                ours += composed_steps(graph, args.steps)
            else:
                ours += composed_steps(graph, args.steps)
                theirs += by_hand(args.steps)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:28} {a * 1e3:12.3f} {b * 1e3:11.3f} {a / b:6.3f}")


if __name__ == "__main__":
    main()
