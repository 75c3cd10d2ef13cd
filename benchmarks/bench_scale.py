"""Training in several processes, and composer's DCGAN step against a hand-written loop.

1. Steps per second and per-step time of `composer train` for a GAN and a CNN classifier
   (benchmarks/bench_overhead.py's graphs, global batch 64) in one process with 1 and with 2
   threads, and in two processes (`--nproc 2`) of one thread each. A run's per-step time is
   (wall time of a long run - wall time of a short run) / (steps between them), so process
   start, imports and the process group's setup are left out.
2. samples/dcgan_color_digits.graph.json (batch 16, 64x64 colour images) trained by
   `composer.train` and by the training loop of pytorch/examples' dcgan/main.py, written out
   below, in the same process on the same batches, the reference starting from composer's
   initial weights: the median step time of each (CPU time of the process, all its threads,
   so other work on the machine blurs it less), their ratio (target <= 1.02), and the
   largest relative difference of their per-step losses over the first 20 steps (target
   1e-4).

Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_scale.py [--short 20] [--long 420] [--dcgan-steps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_overhead import cnn_graph, gan_graph  # noqa: E402

import composer  # noqa: E402
from composer.fileformat import load, save  # noqa: E402
from composer.generate.compile import graph_program  # noqa: E402

DCGAN = ROOT / "samples" / "dcgan_color_digits.graph.json"


# --- 1. one process against two ----------------------------------------------------------------

def wall_time(file: Path, steps: int, nproc: int, threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "composer", "train", str(file), "--steps",
                        str(steps), "--out", out, "--nproc", str(nproc)], check=True,
                       env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def scaling(short: int, long: int) -> None:
    print(f"per-step time = (wall({long} steps) - wall({short} steps)) / {long - short}")
    print(f"{'graph':<6} {'processes x threads':<20} {'ms/step':>8} {'steps/s':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in (("gan", gan_graph), ("cnn", cnn_graph)):
            file = Path(folder) / f"{name}.graph.json"
            save(make(), file)
            for nproc, threads in ((1, 1), (1, 2), (2, 1)):
                step = (wall_time(file, long, nproc, threads)
                        - wall_time(file, short, nproc, threads)) / (long - short)
                print(f"{name:<6} {f'{nproc} x {threads}':<20} {step * 1e3:>8.2f} "
                      f"{1 / step:>8.1f}")


# --- 2. DCGAN: composer against pytorch/examples' loop ----------------------------------------

NZ, NGF, NDF, NC = 100, 64, 64, 3  # as in pytorch/examples' dcgan for 64x64 images


def reference_generator() -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False), nn.Tanh())


def reference_discriminator() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(NC, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def copy_by_order(source: dict[str, torch.Tensor], into: nn.Module) -> None:
    """Composer's tensors, in their order, into the reference module (shapes must agree)."""
    target = into.state_dict()
    assert len(source) == len(target), (len(source), len(target))
    for (key, t), value in zip(target.items(), source.values(), strict=True):
        assert t.shape == value.shape, (key, t.shape, value.shape)
        t.copy_(value)


def reference_run(initial: dict[str, torch.Tensor], data: dict, steps: int
                  ) -> tuple[list[float], list[tuple[float, float, float]]]:
    """pytorch/examples' dcgan loop: D on real, D on detached fake, D step; G step on D(fake)."""
    net_g, net_d = reference_generator(), reference_discriminator()
    copy_by_order({k: v for k, v in initial.items() if k.startswith("generator.")}, net_g)
    copy_by_order({k: v for k, v in initial.items() if k.startswith("d_real.")}, net_d)
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=0.0002, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=0.0002, betas=(0.5, 0.999))
    times, losses = [], []
    for k in range(steps):
        started = time.process_time()
        real = data["images"].draw(k)["images.x"]
        noise = data["noise"].draw(k)["noise.z"].view(-1, NZ, 1, 1)
        net_d.zero_grad()
        output = net_d(real).view(-1)
        err_d_real = criterion(output, torch.ones_like(output))
        err_d_real.backward()
        fake = net_g(noise)
        output = net_d(fake.detach()).view(-1)
        err_d_fake = criterion(output, torch.zeros_like(output))
        err_d_fake.backward()
        opt_d.step()
        net_g.zero_grad()
        output = net_d(fake).view(-1)
        err_g = criterion(output, torch.ones_like(output))
        err_g.backward()
        opt_g.step()
        losses.append((err_d_real.item(), err_d_fake.item(), err_g.item()))
        times.append(time.process_time() - started)
    return times, losses


def composer_run(steps: int) -> tuple[list[float], list[tuple[float, float, float]],
                                      dict[str, torch.Tensor]]:
    graph = load(DCGAN)
    graph.training.device = "cpu"
    graph.training.steps_per_epoch = steps + 1  # no validation among the timed steps
    initial = _initial_weights(graph)
    marks: list[float] = []

    def mark(event: dict) -> None:
        if event["kind"] in ("start", "step"):
            marks.append(time.process_time())

    run = composer.train(graph, steps=steps, callback=mark)
    times = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    losses = [(r["loss"]["err_d_real"], r["loss"]["err_d_fake"], r["loss"]["err_g"])
              for r in run.history if "loss" in r]
    return times, losses, initial


def _initial_weights(graph) -> dict[str, torch.Tensor]:
    """The model a run of this graph starts from: seeded as the run seeds it."""
    program = graph_program(graph).PROGRAM
    torch.manual_seed(graph.training.seed)
    return {k: v.clone() for k, v in program.model().state_dict().items()}


def dcgan(steps: int) -> None:
    graph = load(DCGAN)
    program = graph_program(graph).PROGRAM
    data = program.make_data(graph.training.seed, Path(graph.base_dir))
    ours, our_losses, initial = composer_run(steps)
    theirs, their_losses = reference_run(initial, data, steps)
    # alternate once more so that neither side has the machine's quieter moment to itself
    ours2, _, _ = composer_run(steps)
    theirs2, _ = reference_run(initial, data, steps)
    skip = 3  # first steps: allocation and one-time setup
    a = statistics.median(ours[skip:] + ours2[skip:])
    b = statistics.median(theirs[skip:] + theirs2[skip:])
    compared = min(20, steps)
    worst = max(abs(x - y) / abs(y) for ours_step, theirs_step in
                zip(our_losses[:compared], their_losses[:compared], strict=True)
                for x, y in zip(ours_step, theirs_step, strict=True))
    print(f"dcgan (batch 16, {torch.get_num_threads()} threads): composer {a * 1e3:.1f} ms/step, "
          f"pytorch/examples loop {b * 1e3:.1f} ms/step, ratio {a / b:.3f} (target <= 1.02)")
    print(f"dcgan losses, first {compared} steps: largest relative difference {worst:.2e} "
          "(target 1e-4)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=20, help="steps of the short runs")
    parser.add_argument("--long", type=int, default=420, help="steps of the long runs")
    parser.add_argument("--dcgan-steps", type=int, default=20)
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args()
    if not args.skip_scaling:
        scaling(args.short, args.long)
    dcgan(args.dcgan_steps)


if __name__ == "__main__":
    main()
