"""The shapes the canvas shows are the shapes that train.

For every node type of the catalogue, the shape its declared plain-Python rule gives equals the
shape a real forward pass gives on the CPU, with random inputs and another batch size, and its
declared weight count equals the real module's. Checking a graph loads no torch; a type without
rules is still inferred, on meta tensors.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from composer import catalogue
from composer.analysis import shapes
from composer.analysis.shapes import TensorInfo, infer_node
from composer.graph import Edge, Graph, Node
from tests.conftest import ROOT, SAMPLES

F32, I64 = "float32", "int64"
REAL_BATCH = 3  # not the inference batch: the shapes must not depend on it


def _t(*shape, dtype=F32, classes=None):
    return TensorInfo(tuple(shape), dtype, classes)


MAPS = [_t(2, 3, 4, 4)]
ANY = [_t(2, 5), _t(2, 3, 4, 4), _t(2, 2, 3)]

# type id -> list of (params, inputs). Every non-data type must appear.
CASES: dict[str, list[tuple[dict, dict[str, TensorInfo]]]] = {
    "layer.conv2d": [({}, {"in": _t(2, 3, 16, 16)}),
                     ({"out_channels": 4, "kernel_size": 5, "stride": 2, "padding": 2},
                      {"in": _t(2, 3, 15, 15)}),
                     ({"dilation": 2, "bias": False}, {"in": _t(2, 1, 9, 9)})],
    "layer.conv_transpose2d": [({}, {"in": _t(2, 3, 5, 5)}),
                               ({"stride": 3, "output_padding": 1, "padding": 0,
                                 "kernel_size": 3}, {"in": _t(2, 3, 5, 5)})],
    "layer.linear": [({}, {"in": _t(2, 7)}), ({"out_features": 3, "bias": False},
                                              {"in": _t(2, 4, 7)})],
    "layer.batchnorm1d": [({}, {"in": _t(2, 6)}), ({"eps": 0.1}, {"in": _t(2, 6, 5)})],
    "layer.batchnorm2d": [({}, {"in": _t(2, 3, 4, 4)}),
                          ({"eps": 0.1, "momentum": 0.5}, {"in": _t(2, 5, 1, 1)})],
    "layer.layernorm": [({}, {"in": _t(2, 6)}), ({}, {"in": _t(2, 3, 4, 4)})],
    "layer.maxpool2d": [({}, {"in": _t(2, 3, 8, 8)}),
                        ({"kernel_size": 3, "stride": 1, "padding": 1}, {"in": _t(2, 3, 7, 7)})],
    "layer.avgpool2d": [({}, {"in": _t(2, 3, 7, 7)}),
                        ({"kernel_size": 3, "stride": 2, "padding": 1}, {"in": _t(2, 3, 7, 7)})],
    "layer.adaptive_avgpool2d": [({"output_size": 3}, {"in": _t(2, 3, 7, 7)}),
                                 ({}, {"in": _t(2, 3, 4, 4)})],
    "layer.dropout": [({}, {"in": i}) for i in ANY],
    "layer.flatten": [({}, {"in": _t(2, 3, 4, 4)}), ({}, {"in": _t(2, 5)})],
    "layer.reshape": [({"shape": [2, 8]}, {"in": _t(2, 16)}),
                      ({"shape": [1, 4, 4]}, {"in": _t(2, 2, 8)})],
    "layer.upsample": [({}, {"in": _t(2, 3, 4, 4)}),
                       ({"scale_factor": 3, "mode": "bilinear"}, {"in": _t(2, 3, 2, 5)})],
    "layer.relu": [({}, {"in": i}) for i in ANY],
    "layer.leaky_relu": [({"negative_slope": 0.2}, {"in": i}) for i in ANY],
    "layer.sigmoid": [({}, {"in": i}) for i in ANY],
    "layer.tanh": [({}, {"in": i}) for i in ANY],
    "layer.gelu": [({}, {"in": i}) for i in ANY],
    "layer.softmax": [({}, {"in": _t(2, 5)}), ({"dim": 3}, {"in": _t(2, 3, 4, 4)}),
                      ({"dim": 2}, {"in": _t(2, 2, 3)})],
    "block.conv_bn_relu": [({}, {"in": _t(2, 3, 8, 8)}),
                           ({"kernel_size": 5, "stride": 2, "out_channels": 4},
                            {"in": _t(2, 3, 9, 9)})],
    "block.residual": [({}, {"in": _t(2, 16, 8, 8)}),
                       ({"out_channels": 8, "stride": 2}, {"in": _t(2, 3, 7, 7)})],
    "merge.concat": [({}, {"in0": _t(2, 3, 4, 4), "in1": _t(2, 5, 4, 4)}),
                     ({"inputs": 3, "dim": 2},
                      {"in0": _t(2, 3, 4), "in1": _t(2, 3, 5), "in2": _t(2, 3, 1)})],
    "merge.add": [({}, {"in0": _t(2, 5), "in1": _t(2, 5)}),
                  ({"inputs": 3}, {f"in{i}": _t(2, 3, 4, 4) for i in range(3)})],
    "merge.multiply": [({}, {"in0": _t(2, 3, 4, 4), "in1": _t(2, 3, 1, 1)}),
                       ({}, {"in0": _t(2, 5), "in1": _t(2, 5)})],
    "merge.mean": [({"inputs": 4}, {f"in{i}": _t(2, 6) for i in range(4)})],
    "merge.attention": [({}, {"query": _t(2, 8, 4, 4), "value": _t(2, 6, 3, 3)}),
                        ({"heads": 2}, {"query": _t(2, 8), "value": _t(2, 5, 6),
                                        "key": _t(2, 5, 3)})],
    "op.detach": [({}, {"in": i}) for i in ANY],
    "op.roi_align": [({}, {"features": _t(2, 3, 8, 8), "boxes": _t(2, 4)}),
                     ({"output_size": 3}, {"features": _t(2, 5, 6, 9), "boxes": _t(2, 4)})],
    "loss.cross_entropy": [({}, {"pred": _t(2, 10), "target": _t(2, dtype=I64, classes=10)}),
                           ({"label_smoothing": 0.1},
                            {"pred": _t(2, 4), "target": _t(2, dtype=I64, classes=3)})],
    "loss.bce_logits": [({}, {"pred": _t(2, 1)}), ({"target_value": 0.0}, {"pred": _t(2, 3)}),
                        ({}, {"pred": _t(2, 3), "target": _t(2, 3)})],
    "loss.bce": [({}, {"pred": _t(2, 1)}), ({}, {"pred": _t(2, 3), "target": _t(2, 3)})],
    "loss.mse": [({}, {"pred": _t(2, 4), "target": _t(2, 4)})],
    "loss.l1": [({}, {"pred": _t(2, 3, 4, 4), "target": _t(2, 3, 4, 4)})],
    "loss.smooth_l1": [({"beta": 0.5}, {"pred": _t(2, 4), "target": _t(2, 4)})],
}


def _random(info: TensorInfo, name: str) -> torch.Tensor:
    shape = (REAL_BATCH, *info.shape[1:])
    if info.dtype == I64:
        return torch.randint(0, info.classes or 2, shape)
    if name in ("boxes", "target") and len(shape) == 2 and shape[1] == 4:
        corners = torch.rand(REAL_BATCH, 2, 2).sort(dim=1).values  # x0 <= x1, y0 <= y1
        return corners.transpose(1, 2).reshape(REAL_BATCH, 4)
    return torch.rand(shape)


def _real_forward(t, params, inputs):
    """The emitted module source and forward expression, run for real on the CPU."""
    ns = shapes._namespace()
    module = None
    if t.module is not None:
        module = eval(t.module(params, {p: (REAL_BATCH, *i.shape[1:])
                                        for p, i in inputs.items()}), ns)
        module.train()
    args = {port: f"_in_{port}" for port in inputs}
    local = {f"_in_{p}": _random(i, p) for p, i in inputs.items()}
    local.update(_m=module, self=types.SimpleNamespace(training=True))
    out = eval(t.forward(params, args, "_m"), ns, local)
    count = sum(p.numel() for p in module.parameters()) if module is not None else 0
    return out, count


def _cases():
    for type_id, cases in CASES.items():
        for i, (params, inputs) in enumerate(cases):
            yield pytest.param(type_id, params, inputs, id=f"{type_id}-{i}")


def test_every_type_has_a_case():
    declared = {t.id for t in catalogue.all_types() if not t.is_data}
    assert declared - set(CASES) == set()


def test_every_computing_type_declares_its_shape_and_weights_rules():
    computing = [t for t in catalogue.all_types() if not t.is_data]
    assert [t.id for t in computing if t.shape is None] == []
    assert [t.id for t in computing if t.module is not None and t.weights is None] == []


@pytest.mark.parametrize("type_id, params, inputs", list(_cases()))
def test_declared_rules_equal_real_forward(type_id, params, inputs):
    t = catalogue.get(type_id)
    assert t.shape is not None
    resolved = t.resolve(params)
    shapes.clear_cache()
    info, count, port, detail = infer_node(t, resolved, inputs)
    assert info is not None, f"{port}: {detail}"
    torch.manual_seed(0)
    out, real_count = _real_forward(t, resolved, inputs)
    real = tuple(out.shape)
    if info.rank == 0:
        assert real == ()
    else:
        assert real == (REAL_BATCH, *info.shape[1:])
    assert info.dtype == str(out.dtype).removeprefix("torch.")
    assert count == real_count


@pytest.mark.parametrize("type_id, params, inputs", list(_cases()))
def test_a_type_without_rules_is_inferred_on_meta_tensors_alike(type_id, params, inputs):
    declared = catalogue.get(type_id)
    bare = dataclasses.replace(declared, shape=None, weights=None)
    resolved = declared.resolve(params)
    shapes.clear_cache()
    by_rule = infer_node(declared, resolved, inputs)
    shapes.clear_cache()  # the memo is keyed by type id: both must really run
    assert infer_node(bare, resolved, inputs) == by_rule


def test_an_output_with_an_empty_dimension_is_a_problem_not_a_shape():
    t = catalogue.get("layer.conv_transpose2d")
    params = t.resolve({"kernel_size": 1, "stride": 1, "padding": 1})
    shapes.clear_cache()
    info, _, _, detail = infer_node(t, params, {"in": _t(2, 3, 1, 1)})
    assert info is None
    assert detail.startswith("output would be [B,16,-1,-1] (in is [B,3,1,1])")
    assert "at least 1" in detail


def _chain() -> Graph:
    g = Graph()
    g.nodes["d"] = Node("d", "data.noise", {"dim": 6})
    g.nodes["fc"] = Node("fc", "layer.linear", {"out_features": 3})
    g.edges.append(Edge("d", "z", "fc", "in"))
    return g


def test_given_parameters_are_used_and_missing_nodes_skipped():
    g = _chain()
    data = catalogue.get("data.noise").resolve({"dim": 6})
    fc = catalogue.get("layer.linear").resolve({"out_features": 5})
    assert str(shapes.infer(g, {"d": data, "fc": fc}).output("fc", "out")) == "[B,5]"
    skipped = shapes.infer(g, {"d": data})
    assert skipped.output("fc", "out") is None and skipped.problems == []


def test_without_given_parameters_a_refused_value_is_a_problem_on_its_node():
    g = _chain()
    g.nodes["fc"].params["out_features"] = "ten"
    problems = shapes.infer(g).problems
    assert [(p.node, p.param) for p in problems] == [("fc", "out_features")]
    assert problems[0].message.startswith("layer.linear fc: out_features: ")


CHECK_WITHOUT_TORCH = """
import sys
from composer.cli import main
code = main(["check", sys.argv[1]])
print("torch loaded" if "torch" in sys.modules else "no torch")
sys.exit(code)
"""


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.graph.json")), ids=lambda p: p.name)
def test_checking_a_sample_loads_no_torch(path):
    run = subprocess.run([sys.executable, "-c", CHECK_WITHOUT_TORCH, str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "no torch"


# --- data nodes -------------------------------------------------------------------------------

def _data_outputs(type_id: str, params: dict, base_dir=None) -> dict[str, TensorInfo]:
    g = Graph()
    g.nodes["n"] = Node("n", type_id, params)
    if base_dir is not None:
        g.base_dir = base_dir
    inferred = shapes.infer(g)
    assert inferred.problems == []
    return {port: inferred.output("n", port) for _, port in inferred.outputs}


def test_digits_match_scikit_learns_images():
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = _data_outputs("data.digits", {})
    assert out["x"].shape[1:] == (1, *digits.images.shape[1:])
    assert out["y"].dtype == I64 and out["y"].rank == 1
    assert out["y"].classes == len(np.unique(digits.target))


def test_noise_has_its_dim():
    assert _data_outputs("data.noise", {"dim": 7})["z"].shape == (2, 7)


def test_generated_shapes_match_their_declaration():
    from composer.runtime import data

    arrays = data.shapes_arrays("n", 0, 20, 12)
    out = _data_outputs("data.shapes", {"size": 20})
    for port in ("x", "y", "box"):
        assert out[port].shape[1:] == arrays[port].shape[1:]
        assert out[port].dtype == str(arrays[port].dtype)
    assert out["y"].classes == 3


def test_tensor_file_shapes_come_from_the_file(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 3, 5), np.float32),
             y=np.arange(10) % 4)
    out = _data_outputs("data.tensors", {"path": "d.npz"}, tmp_path)
    assert out["x"].shape == (2, 3, 5) and out["x"].dtype == F32
    assert out["y"].shape == (2,) and out["y"].dtype == I64 and out["y"].classes == 4


def test_image_folder_counts_its_class_folders(tmp_path):
    for name in ("cat", "dog", "eel"):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        (tmp_path / "imgs" / name / "a.png").write_bytes(b"")
    out = _data_outputs("data.image_folder", {"path": "imgs", "size": 12, "grayscale": True},
                        tmp_path)
    assert out["x"].shape == (2, 1, 12, 12) and out["y"].classes == 3
