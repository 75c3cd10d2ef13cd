"""composer.train: the callback contract, metrics, determinism, checkpoints and resume, the
messages a failing run stops with, and the data sources it draws from."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from functools import partial

import numpy as np
import pytest
import torch
from composed_graphs import chain, gan, graph, single_threaded_torch

import composer
from composer.errors import DataError, TrainingError
from composer.generate.compile import graph_program
from composer.graph import Group
from composer.runtime import augment, data
from composer.runtime.images import ImageFolder


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def classifier(steps_per_epoch=5, seed=0):
    return chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=steps_per_epoch, seed=seed)


def step_losses(run):
    return [r["loss"] for r in run.history if "loss" in r]


def test_callback_sees_start_steps_epochs_and_end_in_order():
    events = []
    run = composer.train(classifier(), steps=12, callback=events.append)
    kinds = [e["kind"] for e in events]
    assert kinds == ["start"] + ["step"] * 5 + ["epoch"] + ["step"] * 5 + ["epoch"] + \
        ["step"] * 2 + ["epoch", "end"]
    start = events[0]
    assert start["total_steps"] == 12 and start["steps_per_epoch"] == 5 and start["epochs"] == 3
    assert start["losses"] == ["ce", "ce2"] and start["groups"] == ["g"]
    assert start["schedule"] == {"g": {"every": 1, "offset": 0, "epochs": [0, None],
                                       "repeat": 1}}
    step = events[1]
    assert set(step) == {"kind", "epoch", "step", "loss", "group_loss", "lr", "active",
                         "elapsed"}
    assert step["active"] == ["g"] and step["group_loss"]["g"] == step["loss"]["ce"]
    assert events[6]["epoch"] == 0 and set(events[6]["val"]) == {"ce", "ce2"}
    assert 0.0 <= events[6]["accuracy"]["ce"] <= 1.0
    assert events[-2].get("partial") is True  # the last epoch had 2 of its 5 steps
    assert events[-1] == {"kind": "end", "status": "finished", "step": 12}
    assert run.status == "finished" and run.steps == 12
    assert run.val == events[-2]["val"] and run.accuracy == events[-2]["accuracy"]


def test_metrics_file_holds_the_history_one_json_object_a_line(tmp_path):
    run = composer.train(classifier(), steps=7, metrics_out=tmp_path / "m.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert lines == run.history
    assert lines[0] == {"epoch": 0, "step": 0, "loss": {"ce": lines[0]["loss"]["ce"]}}
    assert set(lines[5]) == {"epoch", "step", "val", "accuracy"}


def test_stop_from_the_callback_ends_after_the_current_step_keeping_the_weights(tmp_path):
    g = classifier()
    torch.manual_seed(0)
    initial = composer.compile(g).state_dict()
    run = composer.train(g, steps=50, out_dir=tmp_path,
                         callback=lambda e: "stop" if e.get("step") == 2 else None)
    assert run.status == "stopped" and run.steps == 3
    assert len(step_losses(run)) == 3
    assert not torch.equal(run.model.state_dict()["b.weight"], initial["b.weight"])
    saved = torch.load(run.checkpoint, weights_only=True)
    assert saved["step"] == 3 and torch.equal(saved["model"]["b.weight"],
                                              run.model.state_dict()["b.weight"])


def test_a_blocking_callback_pauses_training_until_released():
    release = threading.Event()
    stamps = {}

    def callback(event):
        if event["kind"] == "step" and event["step"] == 1:
            stamps["paused"] = time.perf_counter()
            threading.Timer(0.3, release.set).start()  # another thread resumes the run
            release.wait()
        stamps[event.get("step")] = time.perf_counter()

    run = composer.train(classifier(), steps=3, callback=callback)
    assert run.steps == 3 and stamps[2] - stamps["paused"] >= 0.3


def test_same_seed_gives_the_same_numbers_and_another_seed_others():
    a = step_losses(composer.train(gan(), steps=6, seed=4))
    b = step_losses(composer.train(gan(), steps=6, seed=4))
    c = step_losses(composer.train(gan(), steps=6, seed=5))
    assert a == b and a != c


def test_resume_from_a_checkpoint_repeats_the_uninterrupted_run(tmp_path):
    g = composer.load("tests/graphs/shapes_sgd_rmsprop.graph.json")  # dropout, augmentation
    full = composer.train(g, steps=10, out_dir=tmp_path, checkpoint_every=5)
    resumed = composer.train(g, steps=10, resume=tmp_path / "checkpoint_step5.pt")
    assert step_losses(resumed) == step_losses(full)[5:]
    assert resumed.steps == 10
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_nan_loss_stops_the_run_naming_loss_group_and_step(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    x[:, 0] = np.nan
    np.savez(tmp_path / "bad.npz", x=x, y=np.zeros((40, 2), np.float32))
    g = graph({"t": ("data.tensors", {"path": "bad.npz", "batch_size": 8}),
               "fc": ("layer.linear", {"out_features": 2}), "mse": "loss.mse"},
              ["t.x -> fc.in", "fc.out -> mse.pred", "t.y -> mse.target"],
              [Group("fit", ["fc"], ["mse"])])
    g.base_dir = tmp_path
    with pytest.raises(TrainingError) as e:
        composer.train(g, steps=5)
    assert (e.value.node, e.value.group, e.value.step) == ("mse", "fit", 0)
    assert "mse" in str(e.value) and "nan" in str(e.value) and "fit" in str(e.value)


def test_an_exception_inside_a_node_names_the_node():
    program = graph_program(gan())
    wrong = dataclasses.replace(program.PROGRAM, make_data=lambda seed, d: {
        "z": program.Noise("z", seed, dim=7, batch_size=4),
        "d": program.Batches("d", seed, program.digits_arrays("d"), 4, (0.8, 0.1, 0.1))})
    with pytest.raises(program.TrainingFailure) as e:
        program.train(wrong, steps=2)
    assert e.value.node == "g1" and e.value.step == 0 and e.value.group == "disc"
    assert str(e.value).startswith("node g1 failed at step 0 (group disc): RuntimeError")


def test_bad_settings_and_checkpoints_are_refused_with_a_message(tmp_path):
    with pytest.raises(TrainingError, match="steps must be an integer >= 0"):
        composer.train(classifier(), steps=-1)
    with pytest.raises(TrainingError, match="does not exist"):
        composer.train(classifier(), steps=1, resume=tmp_path / "missing.pt")
    composer.train(gan(), steps=1, out_dir=tmp_path)
    with pytest.raises(TrainingError, match="does not fit this model"):
        composer.train(classifier(), steps=2, resume=tmp_path / "checkpoint.pt")


def test_digits_are_scaled_to_unit_range_with_ten_classes():
    arrays = data.digits_arrays("d")
    assert arrays["x"].shape == (1797, 1, 8, 8) and arrays["x"].dtype == np.float32
    assert arrays["x"].min() == 0.0 and arrays["x"].max() == 1.0
    assert sorted(set(arrays["y"].tolist())) == list(range(10))


def test_generated_shapes_follow_the_seed_and_sit_inside_their_boxes():
    a, b = data.shapes_arrays("s", 0, 24, 50), data.shapes_arrays("s", 0, 24, 50)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["x"], data.shapes_arrays("s", 1, 24, 50)["x"])
    assert set(a["y"].tolist()) == {0, 1, 2}
    for image, box in zip(a["x"][:, 0], a["box"], strict=True):
        rows, cols = np.nonzero(image)
        assert len(rows) > 10
        assert box[0] * 24 <= cols.min() + 0.5 and cols.max() + 0.5 <= box[2] * 24
        assert box[1] * 24 <= rows.min() + 0.5 and rows.max() + 0.5 <= box[3] * 24


def test_splits_are_fixed_by_the_seed_and_sized_by_the_ratios():
    arrays = data.digits_arrays("d")
    one = data.Batches("d", 3, arrays, 64, (0.7, 0.2, 0.1))
    two = data.Batches("d", 3, arrays, 64, (0.7, 0.2, 0.1))
    other = data.Batches("d", 4, arrays, 64, (0.7, 0.2, 0.1))
    assert (one.n_train, one.n_val, len(one.test["d.y"])) == (1259, 359, 179)
    assert torch.equal(one.val["d.x"], two.val["d.x"])
    assert not torch.equal(one.val["d.x"], other.val["d.x"])
    assert torch.equal(one.draw(7)["d.x"], two.draw(7)["d.x"])
    assert not torch.equal(one.draw(0)["d.x"], one.draw(1)["d.x"])


def test_noise_is_fresh_every_draw_and_the_same_for_the_same_draw():
    z = data.Noise("z", 0, dim=5, batch_size=3)
    assert torch.equal(z.draw(4)["z.z"], data.Noise("z", 0, 5, 3).draw(4)["z.z"])
    assert not torch.equal(z.draw(4)["z.z"], z.draw(5)["z.z"])
    assert z.val_batch(0, rows=7)["z.z"].shape == (7, 5)


def test_tensor_files_load_from_npz_and_pt(tmp_path):
    np.savez(tmp_path / "a.npz", inputs=np.ones((6, 3)), labels=np.arange(6))
    torch.save({"x": torch.zeros(4, 2), "y": torch.ones(4)}, tmp_path / "b.pt")
    a = data.tensor_arrays("t", tmp_path / "a.npz", "inputs", "labels")
    assert a["x"].dtype == np.float32 and a["y"].dtype == np.int64
    b = data.tensor_arrays("t", tmp_path / "b.pt", "x", "y")
    assert b["y"].dtype == np.float32 and b["x"].shape == (4, 2)
    with pytest.raises(data.DataSourceError, match="has no array 'x'; it has: inputs, labels"):
        data.tensor_arrays("t", tmp_path / "a.npz", "x", "labels")


def test_image_folder_without_pillow_says_what_to_install(tmp_path):
    (tmp_path / "cats").mkdir()
    pytest.importorskip("sklearn")
    try:
        import PIL  # noqa: F401
    except ImportError:
        with pytest.raises(data.DataSourceError, match="pip install pillow"):
            ImageFolder("imgs", tmp_path, 8, True)
    else:
        with pytest.raises(data.DataSourceError, match="holds no images"):
            ImageFolder("imgs", tmp_path, 8, True)


def test_augmentation_changes_training_batches_only():
    arrays = data.digits_arrays("d")
    flip = data.Batches("d", 0, arrays, 32, (0.8, 0.1, 0.1),
                        augment=[partial(augment.hflip, p=1.0)])
    plain = data.Batches("d", 0, arrays, 32, (0.8, 0.1, 0.1))
    assert torch.equal(flip.draw(0)["d.x"], plain.draw(0)["d.x"].flip(3))
    assert torch.equal(flip.val_batch(0)["d.x"], plain.val_batch(0)["d.x"])


def test_augmentation_ops_move_flip_rotate_and_add_noise():
    x = torch.zeros(2, 1, 5, 5)
    x[:, 0, 2, 2] = 1.0
    g = torch.Generator().manual_seed(0)
    shifted = augment.random_shift(x, g, pixels=2)
    assert shifted.sum() <= 2 and shifted.shape == x.shape
    assert torch.equal(augment.vflip(x, g, p=1.0), x.flip(2))
    assert augment.random_rotate(x, g, degrees=0.0).allclose(x, atol=1e-6)
    noisy = augment.gaussian_noise(x, g, std=0.1)
    assert 0.02 < (noisy - x).std() < 0.2
    with pytest.raises(data.DataSourceError, match=r"hflip needs images \[B,C,H,W\]"):
        augment.hflip(torch.zeros(3, 4), g, p=0.5)


def test_a_data_file_that_is_missing_is_a_data_error_naming_the_node(tmp_path):
    g = graph({"t": ("data.tensors", {"path": "nowhere.npz"}),
               "fc": ("layer.linear", {"out_features": 2}), "mse": "loss.mse"},
              ["t.x -> fc.in", "fc.out -> mse.pred", "t.y -> mse.target"],
              [Group("fit", ["fc"], ["mse"])])
    g.base_dir = tmp_path
    with pytest.raises((DataError, composer.CompileError)) as e:
        composer.train(g, steps=1)
    assert "t" == e.value.node.split(".")[0] and "nowhere.npz" in str(e.value)
