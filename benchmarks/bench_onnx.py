"""ONNX export of the samples: how long export takes, the file's size, and inference with
onnxruntime against the torch model on a validation batch of 64 (median time per batch, and
the largest difference between the two).

Run: `.venv/bin/python benchmarks/bench_onnx.py` (needs the onnx extra).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import composer  # noqa: E402

# sample -> outputs (None: what its losses score)
CASES = {
    "hierarchical_digits": None,
    "multitask_digits": None,
    "gan_digits": ["g_img.out"],
    "detector_shapes": ["rpn_box.out", "det_fc.out"],
    "dcgan_color_digits": ["generator.image"],
    "resnet18_color_digits": None,
}
BATCH = 64
REPEATS = 20


def median_ms(fn) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(sample: str, outputs: list[str] | None, folder: Path) -> str:
    import numpy as np
    import onnxruntime
    import torch

    from composer.export_onnx import default_outputs, export_onnx
    from composer.generate.compile import graph_program

    graph = composer.load(ROOT / "samples" / f"{sample}.graph.json")
    outputs = outputs or default_outputs(graph)
    model = composer.compile(graph).eval()
    path = folder / f"{sample}.onnx"
    start = time.perf_counter()
    done = export_onnx(graph, path, outputs, weights=model.state_dict())
    export_s = time.perf_counter() - start
    data = graph_program(graph).make_data(graph.training.seed, graph.base_dir)
    batch = {port: t[:BATCH] for source in data.values()
             for port, t in source.val_batch(0, BATCH).items() if port in done.inputs}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: t.numpy() for name, t in batch.items()}
    with torch.no_grad():
        expected = model(batch, outputs)
        torch_ms = median_ms(lambda: model(batch, outputs))
    got = session.run(outputs, feed)
    ort_ms = median_ms(lambda: session.run(outputs, feed))
    diff = max(float(np.abs(g - expected[o].numpy()).max()) for o, g in zip(outputs, got,
                                                                         strict=True))
    rows = next(iter(batch.values())).shape[0]
    return (f"{sample:24} {export_s:8.1f} {path.stat().st_size / 1e6:8.2f} {rows:5d} "
            f"{torch_ms:9.2f} {ort_ms:9.2f} {diff:10.1e}")


def main() -> None:
    import torch

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, one thread; time per batch is the median of {REPEATS}")
    print(f"{'sample':24} {'export s':>8} {'MB':>8} {'rows':>5} {'torch ms':>9} {'ort ms':>9} "
          f"{'max diff':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for sample, outputs in CASES.items():
            print(measure(sample, outputs, Path(folder)), flush=True)


if __name__ == "__main__":
    main()
