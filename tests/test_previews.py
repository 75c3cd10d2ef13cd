"""Previews from the core: a run watching outputs sends them after each epoch, computed on a
fixed validation batch, without changing a single loss; `composer train --events --watch`
carries the same arrays as JSON; the trained model previews as the last epoch did; a box output
is drawn on the image it comes from."""

from __future__ import annotations

import json

import numpy as np
import pytest
from composed_graphs import graph
from conftest import SAMPLES

import composer
from composer.graph import Group
from composer.previews import preview_plan, watched
from composer.runtime.previews import decode_outputs


def gan(steps_per_epoch: int = 3) -> composer.Graph:
    g = composer.load(SAMPLES / "gan_digits.graph.json")
    g.training.steps_per_epoch = steps_per_epoch
    g.training.device = "cpu"
    return g


def previews(events: list[dict]) -> list[dict]:
    return [e for e in events if e["kind"] == "preview"]


def test_a_run_sends_each_epoch_the_watched_outputs_of_one_fixed_batch():
    events: list[dict] = []
    watch = ["g_img.out", "noise.z", "digits.x", "d_real.loss", "d_on_real.logit"]
    composer.train(gan(), steps=6, watch=watch, callback=events.append)
    sent = previews(events)
    assert [(e["epoch"], e["step"]) for e in sent] == [(0, 2), (1, 5)]
    kinds = [e["kind"] for e in events]
    assert kinds.index("preview") == kinds.index("epoch") + 1  # after the epoch's validation
    first, second = (e["outputs"] for e in sent)
    assert list(first) == watch
    assert {ref: a.shape for ref, a in first.items()} == {
        "g_img.out": (16, 1, 8, 8), "noise.z": (16, 32), "digits.x": (16, 1, 8, 8),
        "d_real.loss": (), "d_on_real.logit": (16, 1)}
    assert all(a.dtype == np.float32 for a in first.values())
    assert np.array_equal(first["noise.z"], second["noise.z"])  # the same batch every epoch
    assert np.array_equal(first["digits.x"], second["digits.x"])
    assert not np.array_equal(first["g_img.out"], second["g_img.out"])  # what trained moved


def dropout_graph() -> composer.Graph:
    """Noise through a dropout into 8x8 images scored against digits: each training step
    draws from the global random state, which a preview must leave where it was."""
    return graph({"z": ("data.noise", {"dim": 8, "batch_size": 32}),
                  "d": ("data.digits", {"batch_size": 32}),
                  "fc": ("layer.linear", {"out_features": 32}),
                  "drop": ("layer.dropout", {"p": 0.5}),
                  "fc2": ("layer.linear", {"out_features": 64}),
                  "img": ("layer.reshape", {"shape": [1, 8, 8]}), "rec": "loss.mse"},
                 ["z.z -> fc.in", "fc.out -> drop.in", "drop.out -> fc2.in", "fc2.out -> img.in",
                  "img.out -> rec.pred", "d.x -> rec.target"],
                 [Group("g", ["fc", "fc2"], ["rec"])], steps_per_epoch=3)


def test_losses_are_bit_identical_with_and_without_previews_at_every_step():
    plain = composer.train(dropout_graph(), steps=7).history
    sent: list[dict] = []

    def ask_every_step(event: dict) -> str | None:
        if event["kind"] == "preview":
            sent.append(event)
        return "preview" if event["kind"] == "step" else None

    watched_run = composer.train(dropout_graph(), steps=7, watch=["drop.out", "img.out"],
                                 callback=ask_every_step)
    assert watched_run.history == plain
    # asked after every step but those that end an epoch, which send theirs anyway
    assert [(e["step"], bool(e.get("asked"))) for e in sent] == [
        (0, True), (1, True), (2, False), (3, True), (4, True), (5, False), (6, True),
        (6, False)]
    assert all(e["outputs"]["drop.out"].shape == (16, 32) for e in sent)


def test_an_output_that_is_not_in_the_graph_is_refused_naming_the_closest():
    with pytest.raises(composer.TrainingError, match="no output 'g_img.outt'; did you mean "
                                                     "g_img.out"):
        composer.train(gan(), steps=1, watch=["g_img.outt"])


def test_composer_train_events_carry_the_arrays_an_in_process_run_sends(tmp_path):
    from composer.cli import main

    path = tmp_path / "gan.graph.json"
    composer.save(gan(), path)
    events = tmp_path / "events.jsonl"
    assert main(["train", str(path), "--steps", "3", "--events", str(events), "--watch",
                 "g_img.out,noise.z", "--out", str(tmp_path / "run")]) == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    (written,) = previews(lines)
    assert written["outputs"]["g_img.out"]["shape"] == [16, 1, 8, 8]
    here: list[dict] = []
    composer.train(gan(), steps=3, watch=["g_img.out", "noise.z"], callback=here.append)
    decoded = decode_outputs(written["outputs"])
    for ref, array in previews(here)[0]["outputs"].items():
        assert np.array_equal(decoded[ref], array)


def test_the_trained_model_previews_as_the_last_epoch_did():
    events: list[dict] = []
    run = composer.train(gan(), steps=3, watch=["g_img.out"], callback=events.append)
    outputs, notes = composer.preview(gan(), run.model, ["g_img.out", "nothing.here"])
    assert np.array_equal(outputs["g_img.out"], previews(events)[-1]["outputs"]["g_img.out"])
    assert "nothing.here" in notes and run.model.training


def test_boxes_are_drawn_on_the_image_they_come_from_and_samples_watch_what_they_show():
    detector = composer.load(SAMPLES / "detector_shapes.graph.json")
    plan = preview_plan(detector, ["rpn_box.out", "proposals.out", "shapes.box", "det_fc.out",
                                   "gone.out"])
    assert {ref: how["image"] for ref, how in plan.items()} == {
        "rpn_box.out": "shapes.x", "proposals.out": "shapes.x", "shapes.box": "shapes.x",
        "det_fc.out": None}
    assert watched(detector) == ["rpn_box.out"]
    assert watched(composer.load(SAMPLES / "gan_digits.graph.json")) == ["g_img.out"]
    assert watched(composer.load(SAMPLES / "multitask_digits.graph.json")) == [
        "digits.x", "rec_out.out"]
