"""TensorBoard logs: `composer train --tensorboard DIR` and an exported script's `--tensorboard
DIR` write the run's curves as TensorBoard event files that TensorBoard reads back with the
numbers of the metrics; preview images become image grids; without the tensorboard package
the run does not start and one line names the extra to install."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from composed_graphs import chain, single_threaded_torch

import composer
from composer import cli
from composer.generate.compile import graph_program
from composer.graph import Group
from composer.runtime.board import open_tensorboard

MISSING = ("error: --tensorboard needs the tensorboard extra: "
           "pip install 'model-composer[tensorboard]'")


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "clf.graph.json"
    composer.save(chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=4), path)
    return path


def read_back(folder):
    """TensorBoard's own reader over a log folder (every scalar and image kept)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    logs.Reload()
    return logs


def series(logs, tag):
    return [(e.step, e.value) for e in logs.Scalars(tag)]


def test_composer_train_writes_the_metrics_losses_as_tensorboard_scalars(graph_file, tmp_path,
                                                                        capsys):
    board, metrics = tmp_path / "tb", tmp_path / "m.jsonl"
    code = cli.main(["train", str(graph_file), "--steps", "6", "--out", str(tmp_path / "run"),
                     "--metrics-out", str(metrics), "--tensorboard", str(board)])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    epochs = [r for r in records if "val" in r]
    logs = read_back(board)
    assert series(logs, "loss/ce") == [(r["step"], pytest.approx(r["loss"]["ce"], rel=1e-6))
                                       for r in steps]
    assert series(logs, "group_loss/g") == [(r["step"], pytest.approx(r["loss"]["ce"], rel=1e-6))
                                            for r in steps]
    assert [s for s, _ in series(logs, "lr/g")] == list(range(6))
    assert series(logs, "val/ce") == [(r["step"], pytest.approx(r["val"]["ce"], rel=1e-6))
                                      for r in epochs]
    assert series(logs, "accuracy/ce") == [
        (r["step"], pytest.approx(r["accuracy"]["ce"], rel=1e-6)) for r in epochs]
    assert len(epochs) == 2  # after step 3 (an epoch is 4 steps) and after the last, step 5


def test_an_exported_script_takes_tensorboard_too(graph_file, tmp_path, capsys):
    program = graph_program(composer.load(graph_file))
    board = tmp_path / "tb"
    assert program.command_line(program.PROGRAM, ["--steps", "3", "--out", str(tmp_path / "r"),
                                                   "--tensorboard", str(board)]) == 0
    logs = read_back(board)
    assert [s for s, _ in series(logs, "loss/ce")] == [0, 1, 2]
    assert [s for s, _ in series(logs, "val/ce")] == [2]
    assert "--tensorboard DIR" in program.script_parser(program.PROGRAM).format_help()


def test_preview_events_are_written_as_image_grids(tmp_path):
    rng = np.random.default_rng(0)
    sink = open_tensorboard(tmp_path / "tb")
    fakes = np.tanh(rng.normal(size=(6, 1, 8, 8))).astype(np.float32)  # [-1,1]: stretched
    colour = rng.uniform(size=(4, 3, 5, 7)).astype(np.float32)
    sink({"kind": "preview", "epoch": 0, "step": 9,
          "outputs": {"g.out": fakes, "c.out": colour,
                      "z.out": np.zeros((6, 16), np.float32)}})  # a vector: no picture
    sink.close()
    logs = read_back(tmp_path / "tb")
    assert sorted(logs.Tags()["images"]) == ["preview/c.out", "preview/g.out"]
    (grid,) = logs.Images("preview/g.out")
    assert grid.step == 9 and grid.width > 8 and grid.height >= 8
    (grid,) = logs.Images("preview/c.out")
    assert grid.step == 9 and grid.width > 7


def test_without_the_tensorboard_package_the_run_stops_before_training_with_one_line(
        graph_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    out = tmp_path / "run"
    for extra in ([], ["--nproc", "2"]):
        code = cli.main(["train", str(graph_file), "--steps", "3", "--out", str(out),
                         "--tensorboard", str(tmp_path / "tb"), *extra])
        err = capsys.readouterr().err
        assert code == 1 and err == MISSING + "\n"
        assert not out.exists() and not (tmp_path / "tb").exists()
    with pytest.raises(composer.TrainingError, match=r"tensorboard extra: pip install"):
        composer.train(composer.load(graph_file), steps=3, tensorboard=tmp_path / "tb")
