"""Trains every sample and measures what it reaches (`make samples`).

Prints one row per sample (pattern, command, result, target, time) and writes the same table
to docs/samples.md, with docs/gan_samples.png: a grid of digits drawn by the trained GAN's
generator. Results are validation figures of the run that `composer train FILE` does (same
file, same seed); the time is the wall time of `composer.train`, setup included.

    python benchmarks/train_samples.py [--only NAME ...] [--no-docs] [--repeat N]
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import composer  # noqa: E402
from composer.generate.compile import graph_program  # noqa: E402

SAMPLES_DIR = ROOT / "samples"
DOCS = ROOT / "docs"
GAN_IMAGE = DOCS / "gan_samples.png"
TRAINED: dict[str, composer.RunResult] = {}  # runs of this invocation, by sample name


@dataclass
class Outcome:
    result: str  # what was measured, in words
    met: bool  # whether it reached the sample's stated target


@dataclass
class Sample:
    name: str
    pattern: str
    target: str
    measure: Callable[[composer.Graph, composer.RunResult], Outcome]

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / f"{self.name}.graph.json"

    @property
    def command(self) -> str:
        return f"composer train samples/{self.name}.graph.json"


# --- measures ---------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def accuracy(targets: dict[str, float], mse: str | None = None,
             labels: dict[str, str] | None = None) -> Callable:
    """Validation accuracy of each cross-entropy loss node against its target (and the MSE of
    one loss node, when named)."""
    labels = labels or {}

    def measure(graph: composer.Graph, run: composer.RunResult) -> Outcome:
        parts = [f"{labels.get(loss, '')}{_pct(run.accuracy[loss])}" for loss in targets]
        text = " / ".join(parts) + " val accuracy"
        if mse:
            text += f", reconstruction MSE {run.val[mse]:.4f}"
        return Outcome(text, all(run.accuracy[loss] >= t for loss, t in targets.items()))

    return measure


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of matching rows of two [N,4] box tensors (x0,y0,x1,y1)."""
    w = (torch.minimum(a[:, 2], b[:, 2]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    h = (torch.minimum(a[:, 3], b[:, 3]) - torch.maximum(a[:, 1], b[:, 1])).clamp(min=0)
    inter = w * h

    def area(r: torch.Tensor) -> torch.Tensor:
        return (r[:, 2] - r[:, 0]).clamp(min=0) * (r[:, 3] - r[:, 1]).clamp(min=0)

    return inter / (area(a) + area(b) - inter).clamp(min=1e-9)


def validation_split(graph: composer.Graph, node: str) -> dict[str, torch.Tensor]:
    """The validation split of one data node, exactly as the run drew it (same seed)."""
    program = graph_program(graph)
    return program.make_data(graph.training.seed, graph.base_dir)[node].val


def detector(graph: composer.Graph, run: composer.RunResult) -> Outcome:
    """Proposals' IoU with the true box, and the detector's accuracy on its own proposals."""
    val = validation_split(graph, "shapes")
    model = run.model.eval()
    with torch.no_grad():
        out = model(val, outputs=["rpn_box.out", "det_fc.out"])
    iou = box_iou(out["rpn_box.out"], val["shapes.box"])
    hits = float((iou >= 0.5).float().mean())
    correct = float((out["det_fc.out"].argmax(1) == val["shapes.y"]).float().mean())
    text = (f"IoU >= 0.5 on {_pct(hits)} of val images (mean IoU {float(iou.mean()):.2f}), "
            f"classes {_pct(correct)} correct")
    return Outcome(text, hits >= 0.9 and correct >= 0.9)


def gan(graph: composer.Graph, run: composer.RunResult) -> Outcome:
    """Draws 100 digits from the generator, saves them as a grid image, and asks the trained
    digit classifier (when it ran before) how sure it is of what each one shows."""
    dim = graph.nodes["noise"].resolved_params()["dim"]
    z = torch.randn(100, dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = run.model.eval()({"noise.z": z}, outputs=["g_img.out"])["g_img.out"]
    GAN_IMAGE.parent.mkdir(exist_ok=True)
    write_png(GAN_IMAGE, image_grid(images[:, 0].numpy(), rows=10, cols=10))
    text = f"samples in docs/{GAN_IMAGE.name}"
    classifier = TRAINED.get("hierarchical_digits")
    if classifier is None:
        return Outcome(text, True)
    with torch.no_grad():
        logits = classifier.model.eval()({"digits.x": images}, outputs=["fc2.out"])["fc2.out"]
    confidence, digit = logits.softmax(1).max(1)
    sure = confidence >= 0.9
    kinds = len(set(digit[sure].tolist()))
    text = (f"{_pct(float(sure.float().mean()))} of 100 samples read as one digit with "
            f">= 90% confidence by the hierarchical_digits classifier ({kinds} of 10 digits "
            f"among them); {text}")
    return Outcome(text, float(sure.float().mean()) >= 0.5 and kinds >= 8)


def published(counts: dict[str, int], source: str, labels: dict[str, str]) -> Callable:
    """The parameter counts of a published architecture's parts (instance ids, "" for the
    whole model; `labels` names them) against its source's, and whether every loss of the run
    stayed finite."""

    def measure(graph: composer.Graph, run: composer.RunResult) -> Outcome:
        found = {part: sum(p.numel() for p in run.model.get_submodule(part).parameters())
                 for part in counts}
        losses = [v for record in run.history if "loss" in record
                  for v in record["loss"].values()]
        finite = bool(losses) and all(math.isfinite(v) for v in losses)
        sizes = ", ".join(f"{labels[part]} {n:,}" for part, n in found.items())
        text = (f"{sizes} parameters ({source}); {run.steps} steps with "
                f"{'finite' if finite else 'NON-FINITE'} losses")
        return Outcome(text, found == counts and finite)

    return measure


SAMPLES = [
    Sample("hierarchical_digits", "hierarchical", ">= 97% in < 15 s",
           accuracy({"clf_loss": 0.97})),
    Sample("independent_digits", "independent", ">= 97%",
           accuracy({"clf_loss": 0.97}, mse="ae_loss")),
    Sample("gan_digits", "adversarial", "digit-like: >= 50% read confidently, >= 8 digits",
           gan),
    Sample("parallel_concat_digits", "parallel branches (concat)", ">= 97%",
           accuracy({"clf_loss": 0.97})),
    Sample("parallel_sum_digits", "parallel branches (sum)", ">= 97%",
           accuracy({"clf_loss": 0.97})),
    Sample("multitask_digits", "multi-task", ">= 97%",
           accuracy({"cls_loss": 0.97}, mse="rec_loss")),
    Sample("attention_digits", "attention fusion", ">= 97%", accuracy({"clf_loss": 0.97})),
    Sample("modalities_digits", "separate networks, combined loss",
           "image >= 97%, signal >= 80%",
           accuracy({"img_loss": 0.97, "sig_loss": 0.80},
                    labels={"img_loss": "image ", "sig_loss": "signal "})),
    Sample("detector_shapes", "mutually dependent", "IoU >= 0.5 on >= 90%, classes >= 90%",
           detector),
    Sample("multidataset_digits_shapes", "multiple datasets", ">= 97% on both",
           accuracy({"digits_loss": 0.97, "shapes_loss": 0.97},
                    labels={"digits_loss": "digits ", "shapes_loss": "shapes "})),
    Sample("table_wine", "a CSV table (data.csv)", ">= 90%", accuracy({"clf_loss": 0.90})),
    Sample("dcgan_color_digits", "published: DCGAN, networks with tied instances",
           "G 3,576,704 and D 2,765,568 parameters; finite losses",
           published({"generator": 3_576_704, "d_real": 2_765_568},
                     "as pytorch/examples' dcgan", {"generator": "G", "d_real": "D"})),
    Sample("resnet18_color_digits", "published: ResNet-18, one network per block kind",
           "11,181,642 parameters; finite losses",
           published({"": 11_181_642}, "as torchvision's resnet18, 10 classes",
                     {"": "model"})),
]


NOTES = [
    "- Accuracy is on each data node's validation split (10% of the data, fixed by the seed); "
    "another seed gives another split and figures a point or two either way.",
    "- `gan_digits` has no accuracy: its figure asks the classifier trained by "
    "`hierarchical_digits` in the same invocation which digit each generated image shows; "
    "the picture below is the real judge.",
    "- `detector_shapes` trains in Faster R-CNN's four stages, one optimiser group per "
    "stage with its own epoch window; its result measures the proposals against the true "
    "boxes and the detector on crops at the *proposed* boxes. `composer check` gives it two "
    "hints: in stages 3 and 4 the gradient still reaches the frozen trunk (an `op.detach` "
    "would save that work, but stages 1 and 2 must train the trunk through the same wires).",
    "- `modalities_digits`: the second modality is the digits' row and column sums, written "
    "by `samples/make_digit_profiles.py`; it holds less than the image, hence the lower "
    "accuracy of its network.",
    "- `dcgan_color_digits` and `resnet18_color_digits` write published architectures with "
    "networks; `tests/test_fidelity_networks.py` checks that they compute what the published "
    "code computes. They train 8 steps on 320 colour digits, 3x64x64 and 3x32x32 "
    "(`samples/color_digits_64.npz`, `_32.npz`, written by `samples/make_color_digits.py`): "
    "a check that they run, not a result.",
]


# --- images without an imaging library -----------------------------------------------------

def image_grid(images: np.ndarray, rows: int, cols: int, scale: int = 6,
               pad: int = 2) -> np.ndarray:
    """Images [N,H,W] in [0,1] tiled into one uint8 picture, ink dark on white."""
    n, h, w = images.shape
    cell_h, cell_w = h * scale + pad, w * scale + pad
    out = np.full((rows * cell_h + pad, cols * cell_w + pad), 255, np.uint8)
    for i in range(min(n, rows * cols)):
        r, c = divmod(i, cols)
        big = np.kron(np.clip(images[i], 0, 1), np.ones((scale, scale)))
        y, x = pad + r * cell_h, pad + c * cell_w
        out[y:y + h * scale, x:x + w * scale] = np.round(255 * (1 - big)).astype(np.uint8)
    return out


def write_png(path: Path, pixels: np.ndarray) -> None:
    """A greyscale PNG from a uint8 array [H,W]."""
    height, width = pixels.shape

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


# --- running and reporting ---------------------------------------------------------------------

def run_sample(sample: Sample, repeat: int = 1) -> tuple[Outcome, float, composer.RunResult]:
    """Trains the sample `repeat` times (the same seed gives the same weights on the CPU) and
    keeps the fastest time: what else runs on the machine only ever adds to it."""
    graph = composer.load(sample.path)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run = composer.train(graph)
        times.append(time.perf_counter() - started)
    return sample.measure(graph, run), min(times), run


def markdown(rows: list[tuple[Sample, Outcome, float]], load: float, repeat: int) -> str:
    lines = [
        "# Samples",
        "",
        "One graph per pattern of the design, in `samples/`; open them in the application "
        "(File > Open sample) or train them headless with the command shown. Every figure "
        "below is measured on the validation split by `make samples` "
        "(`benchmarks/train_samples.py`), which trains each file with its own settings and "
        f"seed on the CPU ({torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"load average {load:.1f} when it started). Times are wall-clock seconds of "
        f"`composer.train`, setup included, the fastest of {repeat} run(s); they grow with "
        "whatever else the machine runs.",
        "",
        "| sample | pattern | command | result | target | time |",
        "|---|---|---|---|---|---|",
    ]
    for sample, outcome, seconds in rows:
        mark = "" if outcome.met else " (not reached)"
        lines.append(f"| {sample.name} | {sample.pattern} | `{sample.command}` | "
                     f"{outcome.result} | {sample.target}{mark} | {seconds:.1f} s |")
    lines += ["", "## Notes", "", *NOTES, "", "## What the GAN draws", "",
              "100 digits from the trained generator of `gan_digits` (fresh noise):", "",
              f"![GAN samples]({GAN_IMAGE.name})", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="train only these samples")
    parser.add_argument("--no-docs", action="store_true", help="print only; write no docs")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="train each sample N times and report the fastest")
    args = parser.parse_args(argv)
    chosen = [s for s in SAMPLES if not args.only or s.name in args.only]
    load = os.getloadavg()[0]
    rows = []
    print(f"{'sample':28} {'pattern':34} {'time':>7}  result")
    for sample in chosen:
        outcome, seconds, TRAINED[sample.name] = run_sample(sample, args.repeat)
        rows.append((sample, outcome, seconds))
        flag = "" if outcome.met else "   [target not reached: " + sample.target + "]"
        print(f"{sample.name:28} {sample.pattern:34} {seconds:6.1f}s  {outcome.result}{flag}",
              flush=True)
    if not args.no_docs and not args.only:
        (DOCS / "samples.md").write_text(markdown(rows, load, args.repeat), encoding="utf-8")
        print(f"wrote {DOCS / 'samples.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
