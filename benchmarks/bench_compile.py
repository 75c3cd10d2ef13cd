"""Training steps of the generated program, with what it can switch on, against hand-written
eager loops: the DCGAN and ResNet-18 samples.

The references are written here as a person would (pytorch/examples' DCGAN `main.py` loop; a
torchvision-layout ResNet-18 trained with SGD), start from composer's initial weights and
train on the very batches composer draws. For each variant it prints the median step time,
its speed against the reference (higher is faster), the time of the first step apart (it
compiles, when the variant compiles) and the largest per-step loss gap over the compared
steps: float32 variants must stay within 1e-4; bf16 ones are compared loosely (bfloat16 keeps
8 bits of mantissa) and say so. Wall-clock times; the machine's other load blurs them.

Variants: `eager` (what a run does by default), `compile` (training.compile),
`bf16` (training.precision bf16-mixed), `channels_last` (weights in NHWC memory format),
`fused` (the optimisers rebuilt with fused=True), `foreach` (foreach=True), and on a GPU
`cudagraphs` (torch.compile mode="reduce-overhead", which captures CUDA graphs).

Run: `.venv/bin/python benchmarks/bench_compile.py [--models dcgan resnet18] [--steps 20]
[--threads 2] [--device cpu|cuda] [--variants eager compile ...]`. `--device cuda` runs it on
a GPU (the goal there is >= 1.2x of the eager reference).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from composer.fileformat import load  # noqa: E402
from composer.generate.compile import graph_program  # noqa: E402

SAMPLES = {"dcgan": "dcgan_color_digits.graph.json", "resnet18": "resnet18_color_digits.graph.json"}
WARMUP = 3  # steps before timing starts (the first one compiles, when a variant does)
LOSS_TOLERANCE = 1e-4


# --- the hand-written references -------------------------------------------------------------

def dcgan_generator() -> nn.Sequential:
    """pytorch/examples' DCGAN generator: nz=100, ngf=64, three colour channels, 64x64."""
    layers: list[nn.Module] = []
    widths = [100, 512, 256, 128, 64]
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers += [nn.ConvTranspose2d(a, b, 4, 1 if i == 0 else 2, 0 if i == 0 else 1,
                                      bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_discriminator() -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for a, b in ((64, 128), (128, 256), (256, 512)):
        layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b),
                   nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*layers, nn.Conv2d(512, 1, 4, 1, 0, bias=False), nn.Sigmoid())


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock, attributes in its order."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def resnet18(classes: int = 10) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    inplanes = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)]
        inplanes = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def copy_weights(source: dict[str, torch.Tensor], target: nn.Module) -> None:
    """Composer's tensors into the reference, pairing them in order and checking shapes."""
    mine = target.state_dict()
    assert len(mine) == len(source), (len(mine), len(source))
    for (name, t), (src, s) in zip(mine.items(), source.items(), strict=True):
        assert t.shape == s.shape, f"{name} {tuple(t.shape)} <- {src} {tuple(s.shape)}"
        t.copy_(s)


def only(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith(prefix)}


def dcgan_reference(state: dict[str, torch.Tensor], device: torch.device
                    ) -> Callable[[dict[str, torch.Tensor]], dict[str, float]]:
    """One step of pytorch/examples' DCGAN loop, on composer's noise and images."""
    net_g, net_d = dcgan_generator().to(device), dcgan_discriminator().to(device)
    copy_weights(only(state, "generator."), net_g)
    copy_weights(only(state, "d_real."), net_d)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=0.0002, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=0.0002, betas=(0.5, 0.999))

    def step(batch: dict[str, torch.Tensor]) -> dict[str, float]:
        real, noise = batch["images.x"], batch["noise.z"].view(-1, 100, 1, 1)
        net_d.zero_grad()
        out = net_d(real).view(-1)
        err_d_real = F.binary_cross_entropy(out, torch.ones_like(out))
        err_d_real.backward()
        fake = net_g(noise)
        out = net_d(fake.detach()).view(-1)
        err_d_fake = F.binary_cross_entropy(out, torch.zeros_like(out))
        err_d_fake.backward()
        opt_d.step()
        net_g.zero_grad()
        out = net_d(fake).view(-1)
        err_g = F.binary_cross_entropy(out, torch.ones_like(out))
        err_g.backward()
        opt_g.step()
        return {"err_d_real": err_d_real.item(), "err_d_fake": err_d_fake.item(),
                "err_g": err_g.item()}

    return step


def resnet_reference(state: dict[str, torch.Tensor], device: torch.device
                     ) -> Callable[[dict[str, torch.Tensor]], dict[str, float]]:
    net = resnet18().to(device)
    copy_weights(state, net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0001)

    def step(batch: dict[str, torch.Tensor]) -> dict[str, float]:
        opt.zero_grad()
        loss = F.cross_entropy(net(batch["images.x"]), batch["images.y"])
        loss.backward()
        opt.step()
        return {"clf_loss": loss.item()}

    return step


REFERENCES = {"dcgan": dcgan_reference, "resnet18": resnet_reference}


# --- composer's side -------------------------------------------------------------------------

def rebuilt(optimizer: torch.optim.Optimizer, **switch: bool) -> torch.optim.Optimizer:
    """The same optimiser (no step taken yet) with foreach or fused switched on."""
    settings = {k: v for k, v in optimizer.defaults.items()
                if k not in ("foreach", "fused", "differentiable")}
    return type(optimizer)(optimizer.param_groups[0]["params"], **settings, **switch)


def composer_run(program, variant: str, steps: int, device: str):
    """The generated program's run, set up for one variant."""
    spec = program.PROGRAM
    run = program.setup(spec, None, steps, None, device, ROOT / "samples",
                        precision="bf16-mixed" if variant == "bf16" else None,
                        compile=variant == "compile")
    if variant == "channels_last":
        run.model.to(memory_format=torch.channels_last)
    if variant in ("fused", "foreach"):
        for g in run.groups:
            g.optimizer = rebuilt(g.optimizer, **{variant: True})
    if variant == "cudagraphs":
        run.forward = torch.compile(run.model, mode="reduce-overhead")
    return run


class Timed:
    """A step function, its losses and its step times."""

    def __init__(self, step: Callable[[int], dict[str, float]], sync: Callable[[], None]):
        self.step, self.sync = step, sync
        self.losses: list[dict[str, float]] = []
        self.times: list[float] = []

    def __call__(self, k: int) -> None:
        self.sync()
        start = time.perf_counter()
        self.losses.append(self.step(k))
        self.sync()
        self.times.append(time.perf_counter() - start)

    @property
    def median(self) -> float:
        return statistics.median(self.times[WARMUP:])


def interleaved(a: Timed, b: Timed, steps: int) -> None:
    """Step k of one, then of the other: a load that comes and goes on the machine slows
    both alike."""
    for k in range(steps):
        a(k)
        b(k)


def gaps(a: list[dict[str, float]], b: list[dict[str, float]]) -> list[float]:
    """The largest loss difference of each step."""
    return [max(abs(x[k] - y[k]) for k in x) for x, y in zip(a, b, strict=True)]


def verdict(step_gaps: list[float], loose: bool) -> str:
    """Whether the losses stayed within LOSS_TOLERANCE, and where they left it."""
    largest = max(step_gaps)
    first_out = next((k for k, g in enumerate(step_gaps) if g > LOSS_TOLERANCE), None)
    text = f"largest loss gap {largest:.1e}, step 0 {step_gaps[0]:.1e}"
    if first_out is None:
        return text + (" (loose: bf16)" if loose else " (met)")
    return text + (f"; > {LOSS_TOLERANCE:g} from step {first_out}"
                   + (" (loose: bf16)" if loose else " (NOT met)"))


def bench(model: str, variants: list[str], steps: int, device: str) -> None:
    graph = load(ROOT / "samples" / SAMPLES[model])
    program = graph_program(graph)
    where = program.pick_device(device)
    sync = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    fresh = composer_run(program, "eager", steps, device)
    batches = [program.draw(fresh, fresh.data) for _ in range(steps)]
    state = fresh.model.state_dict()
    print(f"{model}: each variant's steps interleaved with a fresh reference loop's",
          flush=True)
    for variant in variants:
        reference = REFERENCES[model](state, where)
        ref = Timed(lambda k, reference=reference: reference(batches[k]), sync)
        run = composer_run(program, variant, steps, device)
        ours = Timed(lambda k, run=run: program.run_step(run, k, k // run.steps_per_epoch)[0],
                     sync)
        interleaved(ref, ours, steps)
        agreement = verdict(gaps(ref.losses, ours.losses), variant == "bf16")
        print(f"  {variant:<13} {ours.median * 1000:8.1f} ms/step, reference "
              f"{ref.median * 1000:6.1f}: {ref.median / ours.median:5.2f}x  first step "
              f"{ours.times[0]:6.2f} s  {agreement}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(SAMPLES), default=sorted(SAMPLES))
    parser.add_argument("--variants", nargs="+", default=None,
                        choices=["eager", "compile", "bf16", "channels_last", "fused",
                                 "foreach", "cudagraphs"])
    parser.add_argument("--steps", type=int, default=20, help="steps per variant (default 20)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: "
                        "torch's own choice)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = args.variants or ["eager", "compile", "bf16", "channels_last", "fused",
                                 "foreach"] + (["cudagraphs"] if args.device != "cpu" else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"{args.steps} steps, medians after {WARMUP}")
    for model in args.models:
        bench(model, variants, args.steps, args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
