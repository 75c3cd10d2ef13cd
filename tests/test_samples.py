"""The samples: every one loads, checks clean, reads left to right, and trains.

The slow tests train the digit classifier, the multi-task sample and the detector to the
results docs/samples.md states for them, and the published architectures (DCGAN, ResNet-18)
through their whole configured run.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import composer
from composer.analysis import shapes
from composer.analysis.checks import check
from composer.generate.compile import graph_program

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_FILES = sorted(SAMPLES_DIR.glob("*.graph.json"))
PATTERNS = ("independent", "hierarchical", "gan", "parallel", "multitask", "attention",
            "modalities", "detector", "multidataset")
# Published architectures written with networks: sample -> {instance ("" for the whole
# model): the parameter count its source has}.
PUBLISHED = {
    "dcgan_color_digits": {"generator": 3_576_704, "d_real": 2_765_568},  # pytorch/examples
    "resnet18_color_digits": {"": 11_181_642},  # torchvision's resnet18, 10 classes
}


def _ids(paths: list[Path]) -> list[str]:
    return [p.name.removesuffix(".graph.json") for p in paths]


def test_there_is_a_sample_for_every_pattern():
    names = _ids(SAMPLE_FILES)
    missing = [p for p in PATTERNS if not any(n.startswith(p) for n in names)]
    assert not missing, f"no sample for: {missing}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=_ids(SAMPLE_FILES))
def test_sample_loads_and_checks_without_errors_or_warnings(path):
    graph = composer.load(path)
    assert not shapes.infer(graph).problems
    problems = [d for d in check(graph) if d.severity in ("error", "warning")]
    assert not problems, "\n".join(str(d) for d in problems)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=_ids(SAMPLE_FILES))
def test_sample_explains_itself(path):
    graph = composer.load(path)
    assert graph.name and graph.name != "Untitled"
    sentences = [s for s in graph.description.split(". ") if s.strip()]
    assert 2 <= len(sentences) <= 3, graph.description
    assert all(g.ui.get("color") for g in graph.groups), "every group has its colour"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=_ids(SAMPLE_FILES))
def test_sample_reads_left_to_right_without_overlaps(path):
    from gui.canvas.metrics import node_size  # the sizes the canvas draws nodes at

    graph = composer.load(path)
    pos = {n.id: n.ui["pos"] for n in graph.nodes.values()}
    for e in graph.edges:
        assert pos[e.dst][0] > pos[e.src][0], f"{e} runs right to left"
    boxes = [(n.id, *pos[n.id], *node_size(graph, n)) for n in graph.nodes.values()]
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1:]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, f"{a} and {b} overlap on the canvas"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=_ids(SAMPLE_FILES))
def test_sample_trains_a_few_steps_with_finite_losses(path):
    run = composer.train(composer.load(path), steps=3)
    assert run.steps == 3 and run.status == "finished"
    losses = [v for record in run.history if "loss" in record for v in record["loss"].values()]
    assert losses and all(math.isfinite(v) for v in losses)
    assert run.val and all(math.isfinite(v) for v in run.val.values())


def test_digit_profiles_file_is_what_its_script_writes():
    from sklearn.datasets import load_digits

    from samples.make_digit_profiles import OUT, profiles

    digits = load_digits()
    with np.load(OUT) as f:
        np.testing.assert_allclose(f["x"], profiles(digits.images), atol=1e-6)
        np.testing.assert_array_equal(f["y"], digits.target)


def test_color_digits_file_is_what_its_script_writes():
    from sklearn.datasets import load_digits

    from samples.make_color_digits import COUNT, OUT, color_digits

    digits = load_digits()
    for size, path in OUT.items():
        with np.load(path) as f:
            x = f["x"]
            assert x.shape == (COUNT, 3, size, size) and -1 <= x.min() < x.max() <= 1
            np.testing.assert_allclose(x, color_digits(digits.images[:COUNT], size), atol=1e-3)
            np.testing.assert_array_equal(f["y"], digits.target[:COUNT])


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_architecture_sample_has_the_published_parameter_counts(name):
    model = composer.compile(composer.load(SAMPLES_DIR / f"{name}.graph.json"))
    for instance, count in PUBLISHED[name].items():
        params = model.get_submodule(instance).parameters()
        assert sum(p.numel() for p in params) == count, instance or "the whole model"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_architecture_sample_trains_its_whole_run_with_finite_losses(name):
    graph = composer.load(SAMPLES_DIR / f"{name}.graph.json")
    run = composer.train(graph)
    assert run.status == "finished"
    assert run.steps == graph.training.epochs * graph.training.steps_per_epoch == 8
    losses = [v for record in run.history if "loss" in record for v in record["loss"].values()]
    assert len(losses) >= 8 and all(math.isfinite(v) for v in losses)
    assert run.val and all(math.isfinite(v) for v in run.val.values())


@pytest.mark.slow
def test_digit_classifier_sample_reaches_97_percent():
    run = composer.train(composer.load(SAMPLES_DIR / "hierarchical_digits.graph.json"))
    assert run.accuracy["clf_loss"] >= 0.97


@pytest.mark.slow
def test_multitask_sample_reaches_97_percent_and_learns_to_reconstruct():
    graph = composer.load(SAMPLES_DIR / "multitask_digits.graph.json")
    untrained = composer.train(graph, steps=1).val["rec_loss"]
    run = composer.train(graph)
    assert run.accuracy["cls_loss"] >= 0.97
    assert run.val["rec_loss"] < untrained / 4


@pytest.mark.slow
def test_detector_sample_proposes_good_boxes_and_classifies_its_crops():
    graph = composer.load(SAMPLES_DIR / "detector_shapes.graph.json")
    run = composer.train(graph)
    val = graph_program(graph).make_data(graph.training.seed, graph.base_dir)["shapes"].val
    with torch.no_grad():
        box = run.model.eval()(val, outputs=["rpn_box.out"])["rpn_box.out"]
    true = val["shapes.box"]
    w = (torch.minimum(box[:, 2], true[:, 2]) - torch.maximum(box[:, 0], true[:, 0])).clamp(min=0)
    h = (torch.minimum(box[:, 3], true[:, 3]) - torch.maximum(box[:, 1], true[:, 1])).clamp(min=0)
    area = (box[:, 2] - box[:, 0]).clamp(min=0) * (box[:, 3] - box[:, 1]).clamp(min=0)
    true_area = (true[:, 2] - true[:, 0]) * (true[:, 3] - true[:, 1])
    iou = w * h / (area + true_area - w * h)
    assert (iou >= 0.5).float().mean() >= 0.9
    assert run.accuracy["cls_loss_ft"] >= 0.9  # on crops at the proposed boxes
