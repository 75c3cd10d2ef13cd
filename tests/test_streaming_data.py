"""Image folders are decoded as batches need them, in worker processes or not, and the numbers
stay a pure function of (seed, node, draw): the worker count and a resume change nothing. An
image that cannot be read stops the run in one line; no worker outlives a run. Big arrays are
read a batch of rows at a time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import composer
from composer import fileformat
from composer.analysis.checks import check
from composer.errors import ParamError
from composer.generate.compile import graph_program
from composer.graph import Edge, Graph, Group, Node, Training
from composer.params import Normalize
from composer.runtime import data
from composer.runtime.images import ImageFolder
from tests.composed_graphs import SINGLE_THREAD_ENV

CLASSES = ("ant", "bee", "cat")


def image_folder(root: Path, per_class: int = 24) -> Path:
    """Noise images of a few sizes (not square, so crops differ) in three class folders."""
    rng = np.random.default_rng(1)
    for c, name in enumerate(CLASSES):
        (root / "imgs" / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (10 + i % 3, 12 + c, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "imgs" / name / f"{i:03d}.png")
    return root / "imgs"


def classifier(root: Path, **params) -> Graph:
    """image folder t -> flatten -> dropout -> linear -> cross-entropy, in one group."""
    g = Graph("streamed")
    g.nodes = {"t": Node("t", "data.image_folder", {"path": "imgs", "size": 8, "batch_size": 8,
                                                    "workers": 0} | params),
               "f": Node("f", "layer.flatten", {}),
               "drop": Node("drop", "layer.dropout", {"p": 0.2}),
               "fc": Node("fc", "layer.linear", {"out_features": len(CLASSES)}),
               "ce": Node("ce", "loss.cross_entropy", {})}
    g.edges = [Edge("t", "x", "f", "in"), Edge("f", "out", "drop", "in"),
               Edge("drop", "out", "fc", "in"), Edge("fc", "out", "ce", "pred"),
               Edge("t", "y", "ce", "target")]
    g.groups = [Group("g", ["fc"], ["ce"])]
    g.training = Training(epochs=1, seed=3, device="cpu")
    g.base_dir = root
    return g


RANDOM = {"crop": "random", "normalize": {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]},
          "augment": [{"op": "hflip", "p": 0.5}, {"op": "gaussian_noise", "std": 0.1}]}


def step_losses(run) -> list[float]:
    return [r["loss"]["ce"] for r in run.history if "loss" in r]


def children() -> set[int]:
    """Processes this one has started that still run."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except FileNotFoundError:  # a thread that ended since the folder was listed
            continue
    return found


def test_two_workers_train_exactly_as_none(tmp_path):
    image_folder(tmp_path)
    before = children()
    alone = composer.train(classifier(tmp_path, workers=0, **RANDOM), steps=12)
    helped = composer.train(classifier(tmp_path, workers=2, **RANDOM), steps=12)
    assert step_losses(helped) == step_losses(alone)
    assert len(set(step_losses(alone))) > 6  # the batches differ from step to step
    assert helped.val == alone.val and helped.accuracy == alone.accuracy
    for k, v in alone.model.state_dict().items():
        assert torch.equal(v, helped.model.state_dict()[k]), k
    assert children() == before and not multiprocessing.active_children()


def test_a_resumed_run_with_workers_equals_the_uninterrupted_one(tmp_path):
    image_folder(tmp_path)
    g = classifier(tmp_path, workers=2, **RANDOM)  # 7 batches per epoch
    full = composer.train(g, steps=11, out_dir=tmp_path / "full", checkpoint_every=3)
    resumed = composer.train(g, steps=11, resume=tmp_path / "full" / "checkpoint_step3.pt")
    assert step_losses(resumed) == step_losses(full)[3:]
    assert resumed.val == full.val
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_center_and_random_crops_and_normalize_are_what_a_hand_computation_gives(tmp_path):
    (tmp_path / "one" / "a").mkdir(parents=True)
    pixels = np.arange(6 * 12, dtype=np.uint8).reshape(6, 12) * 3  # 12 wide, 6 high
    Image.fromarray(pixels).save(tmp_path / "one" / "a" / "x.png")
    norm = {"mean": [0.25], "std": [0.5]}
    center = ImageFolder("t", tmp_path / "one", 6, grayscale=True, crop="center", normalize=norm)
    x = center.rows(np.array([0]), None)["x"]
    expected = pixels[:, 3:9].astype(np.float32) / 255.0  # no resize: the short side is 6
    np.testing.assert_allclose(x[0, 0], (expected - 0.25) / 0.5, rtol=1e-6)
    random = ImageFolder("t", tmp_path / "one", 6, grayscale=True, crop="random")
    left = int(np.random.default_rng(7).integers(0, 12 - 6 + 1))
    x = random.rows(np.array([0]), [np.random.default_rng(7)])["x"]
    np.testing.assert_array_equal(x[0, 0], pixels[:, left:left + 6].astype(np.float32) / 255)
    resized = ImageFolder("t", tmp_path / "one", 4, grayscale=True)  # crop null: as before
    squeezed = np.asarray(Image.fromarray(pixels).resize((4, 4)), dtype=np.float32) / 255
    np.testing.assert_array_equal(resized.rows(np.array([0]), None)["x"][0, 0], squeezed)


def test_validation_batches_take_the_centre_even_with_random_crops(tmp_path):
    image_folder(tmp_path)
    program = graph_program(classifier(tmp_path, crop="random", split=[0.5, 0.5, 0.0]))
    source = program.make_data(3, tmp_path)["t"]
    centred = ImageFolder("t", tmp_path / "imgs", 8, crop="center")
    expected = centred.rows(source.val[:8], None)["x"]
    np.testing.assert_array_equal(source.val_batch(0)["t.x"].numpy(), expected)


@pytest.mark.parametrize(("value", "message"), [
    ({"mean": [0.5, 0.5], "std": [0.2]}, "mean has 2 values but std has 1"),
    ({"mean": [0.5], "std": [0.0]}, "std: expected numbers > 0"),
    ({"mean": "0.5", "std": [1]}, "mean: expected a list of numbers"),
    ([0.5, 0.2], "expected {\"mean\": [...], \"std\": [...]}"),
])
def test_a_malformed_normalize_is_refused_saying_what_is_wrong(value, message):
    with pytest.raises(ParamError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Normalize("normalize", None, optional=True).validate(value)


def test_normalize_for_the_wrong_number_of_channels_is_an_error_on_the_param(tmp_path):
    image_folder(tmp_path, per_class=2)
    g = classifier(tmp_path, normalize={"mean": [0.5, 0.5], "std": [0.2, 0.2]})
    (d,) = [d for d in check(g) if d.is_error]
    assert (d.node, d.param) == ("t", "normalize")
    assert "normalize has 2 value(s) per list but the images have 3 channel(s)" in d.message


def truncate_an_image_of_batch(tmp_path: Path, g: Graph, k: int) -> str:
    """Cuts short a file that training batch k (and no earlier one) reads; its name."""
    source = graph_program(g).make_data(g.training.seed, tmp_path)["t"]
    p, i = divmod(k, source.batches_per_pass)
    name = source.rows.files[source.train[source._pass_order(p)[i * 8]]]
    path = tmp_path / "imgs" / name
    path.write_bytes(path.read_bytes()[:60])  # a PNG header, then nothing
    return name


@pytest.mark.parametrize("workers", [0, 2])
def test_an_image_that_breaks_mid_run_stops_it_in_one_line_and_leaves_no_worker(
        tmp_path, workers):
    image_folder(tmp_path)
    g = classifier(tmp_path, workers=workers)
    name = truncate_an_image_of_batch(tmp_path, g, 2)
    assert not any(d.is_error for d in check(g))  # its header still reads
    before = children()
    with pytest.raises(composer.DataError) as caught:
        composer.train(g, steps=5, out_dir=tmp_path / "run", checkpoint_every=1)
    assert str(caught.value).startswith(f"t: cannot read '{name}' as an image (")
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "run").glob("checkpoint_step*.pt")) == [
        "checkpoint_step1.pt", "checkpoint_step2.pt"]
    assert children() == before and not multiprocessing.active_children()


def test_the_command_line_and_the_exported_script_name_the_broken_image(tmp_path):
    image_folder(tmp_path)
    g = classifier(tmp_path, workers=2)
    name = truncate_an_image_of_batch(tmp_path, g, 1)
    fileformat.save(g, tmp_path / "g.graph.json")
    (tmp_path / "train.py").write_text(composer.export_python(g))
    env = os.environ | SINGLE_THREAD_ENV | {"PYTHONPATH": str(Path(__file__).parent.parent)}
    for command in ([sys.executable, "-m", "composer", "train", "g.graph.json"],
                    [sys.executable, "train.py"]):
        result = subprocess.run([*command, "--steps", "4"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=300, env=env)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert len(lines) == 1 and lines[0].startswith(
            f"error: t: cannot read '{name}' as an image ("), result.stderr


def test_a_stopped_run_leaves_no_worker(tmp_path):
    image_folder(tmp_path)
    before = children()
    run = composer.train(classifier(tmp_path, workers=2), steps=10,
                         callback=lambda e: "stop" if e["kind"] == "step" else None)
    assert run.status == "stopped" and children() == before


def test_a_memory_mapped_array_is_read_a_batch_at_a_time(tmp_path):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (1000, 6))
    x[:] = np.random.default_rng(0).normal(size=(1000, 6))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", "w+", np.int32, (1000,))
    y[:] = np.arange(1000) % 4
    mapped = data.Batches("t", 0, {"x": x, "y": y}, 32, (0.8, 0.1, 0.1))
    loaded = data.Batches("t", 0, {"x": np.array(x), "y": np.array(y, dtype=np.int64)}, 32,
                          (0.8, 0.1, 0.1))
    for split in (mapped.train, mapped.val):
        assert all(isinstance(t, data.LazyRows) and t.array is a
                   for t, a in zip(split.values(), (x, y), strict=True))
    for k in (0, 1, 40):
        drawn, expected = mapped.draw(k), loaded.draw(k)
        assert drawn["t.y"].dtype == torch.int64
        for key in expected:
            assert torch.equal(drawn[key], expected[key]), (k, key)
    assert all(torch.equal(mapped.val_batch(i)[k], loaded.val_batch(i)[k])
               for i in range(4) for k in ("t.x", "t.y"))


def test_an_array_over_the_size_limit_is_read_per_batch_and_converted(tmp_path, monkeypatch):
    np.savez(tmp_path / "d.npz", x=np.arange(400, dtype=np.uint8).reshape(100, 4),
             y=np.arange(100) % 3)
    monkeypatch.setattr(data, "LAZY_BYTES", 100)
    arrays = data.tensor_arrays("t", tmp_path / "d.npz", "x", "y")
    assert isinstance(arrays["x"], data.LazyRows)
    batch = data.Batches("t", 0, arrays, 10, (0.8, 0.1, 0.1)).draw(0)
    assert batch["t.x"].dtype == torch.float32 and batch["t.y"].dtype == torch.int64
    assert batch["t.x"].shape == (10, 4)


def test_crop_and_normalize_are_edited_in_the_inspector_by_keyboard(qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tests.gui_helpers import click, node_point, open_window

    image_folder(tmp_path, per_class=2)
    w = open_window(qtbot, tmp_path, classifier(tmp_path))
    click(w.view.viewport(), node_point(w, "t"))
    norm = w.inspector.editors["normalize"]
    norm.field.setFocus()
    QTest.keyClicks(norm.field, "mean=0.5, 0.5; std=0.2")
    assert "mean has 2 values but std has 1" in norm.error.text()
    assert "normalize" not in w.document.graph.nodes["t"].params
    norm.field.selectAll()
    QTest.keyClicks(norm.field, "mean=0.5, 0.4, 0.3; std=0.2, 0.2, 0.25")
    assert norm.error.isHidden()
    assert w.document.graph.nodes["t"].params["normalize"] == {"mean": [0.5, 0.4, 0.3],
                                                               "std": [0.2, 0.2, 0.25]}
    crop = w.inspector.editors["crop"].field
    assert crop.currentText() == "(none)"
    crop.setFocus()
    QTest.keyClick(crop, Qt.Key.Key_Down)
    assert w.document.graph.nodes["t"].params["crop"] == "center"
    QTest.keyClick(crop, Qt.Key.Key_Up)
    assert w.document.graph.nodes["t"].params.get("crop") is None
