"""`--events` on `composer train` and on exported scripts: every training event as a JSON
line, an error event before exit 1; and SIGTERM stops a run after its step with a checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from composed_graphs import SINGLE_THREAD_ENV, chain, graph, single_threaded_torch

import composer
from composer import cli
from composer.graph import Group

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "clf.graph.json"
    composer.save(chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=4), path)
    return path


def diverging_file(tmp_path: Path) -> Path:
    """A linear reconstruction under SGD at lr 10: its loss is inf within a few steps."""
    g = graph({"d": "data.digits", "f": "layer.flatten",
               "fc": ("layer.linear", {"out_features": 64}),
               "r": ("layer.reshape", {"shape": [1, 8, 8]}), "rec": "loss.mse"},
              ["d.x -> f.in", "f.out -> fc.in", "fc.out -> r.in", "r.out -> rec.pred",
               "d.x -> rec.target"],
              [Group("g", ["fc"], ["rec"], {"type": "sgd", "lr": 10.0})], steps_per_epoch=10)
    path = tmp_path / "diverging.graph.json"
    composer.save(g, path)
    return path


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_events_file_holds_every_event_in_order_with_the_metrics_losses(graph_file,
                                                                          tmp_path, capsys):
    events, metrics = tmp_path / "events.jsonl", tmp_path / "metrics.jsonl"
    assert cli.main(["train", str(graph_file), "--steps", "6", "--out", str(tmp_path / "run"),
                     "--events", str(events), "--metrics-out", str(metrics)]) == 0
    got = read_events(events)
    assert [e["kind"] for e in got] == ["start", *["step"] * 4, "epoch", *["step"] * 2,
                                        "epoch", "end"]
    assert got[0]["total_steps"] == 6 and got[0]["losses"] == ["ce", "ce2"]
    assert got[-1] == {"kind": "end", "status": "finished", "step": 6}
    records = read_events(metrics)
    assert [e["loss"] for e in got if e["kind"] == "step"] == \
        [r["loss"] for r in records if "loss" in r]
    assert [e["val"] for e in got if e["kind"] == "epoch"] == \
        [r["val"] for r in records if "val" in r]
    assert "finished after 6 steps" in capsys.readouterr().out  # events in a file: summary here


def test_events_on_stdout_leave_stdout_to_them_alone(graph_file, tmp_path, capsys):
    assert cli.main(["train", str(graph_file), "--steps", "2", "--out", str(tmp_path / "run"),
                     "--events", "-"]) == 0
    out, err = capsys.readouterr()
    kinds = [json.loads(line)["kind"] for line in out.splitlines()]  # every line is JSON
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert "finished after 2 steps" in err and "loss node" in err


def test_a_failing_run_ends_with_an_error_event_naming_its_node_then_exit_1(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    assert cli.main(["train", str(diverging_file(tmp_path)), "--steps", "500", "--out",
                     str(tmp_path / "run"),
                     "--events", str(events)]) == 1
    last = read_events(events)[-1]
    assert last["kind"] == "error" and last["node"] == "rec" and last["group"] == "g"
    assert f"at step {last['step']}" in last["message"]
    assert f"error: {last['message']}" in capsys.readouterr().err


def test_a_graph_file_that_does_not_load_is_an_error_event_too(tmp_path):
    bad, events = tmp_path / "bad.graph.json", tmp_path / "events.jsonl"
    bad.write_text("{not json")
    assert cli.main(["train", str(bad), "--events", str(events)]) == 1
    [event] = read_events(events)
    assert event["kind"] == "error" and event["message"].startswith("bad.graph.json")


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, **SINGLE_THREAD_ENV, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def events_until_signalled(proc: subprocess.Popen, after_step: int) -> list[dict]:
    """Reads the events; sends SIGTERM once step `after_step` is reported."""
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["kind"] == "step" and events[-1]["step"] == after_step:
            proc.send_signal(signal.SIGTERM)
    return events


@pytest.mark.parametrize("how", ["composer train", "exported script"])
def test_sigterm_stops_the_run_after_its_step_with_validation_and_a_checkpoint(
        how, graph_file, tmp_path):
    """And its steps have the losses `composer train` computes in this process."""
    out = tmp_path / "run"
    options = ["--steps", "100000", "--out", str(out), "--events", "-"]
    if how == "composer train":
        command = [sys.executable, "-m", "composer", "train", str(graph_file), *options]
    else:
        assert cli.main(["export", str(graph_file), "-o", str(tmp_path / "clf.py")]) == 0
        command = [sys.executable, str(tmp_path / "clf.py"), *options]
    proc = start(command, tmp_path)
    events = events_until_signalled(proc, after_step=5)
    err = proc.stderr.read()
    assert proc.wait(60) == 0, err
    steps = [e["step"] for e in events if e["kind"] == "step"]
    assert steps == list(range(len(steps))) and 6 <= len(steps) < 100
    assert events[-2]["kind"] == "epoch" and events[-2]["step"] == steps[-1]
    assert events[-1] == {"kind": "end", "status": "stopped", "step": len(steps)}
    import torch

    saved = torch.load(out / "checkpoint.pt", weights_only=False)
    assert saved["step"] == len(steps)
    assert "SIGTERM: stopping after this step" in err
    same = tmp_path / "same.jsonl"  # the same file and seed in this process: the same numbers
    assert cli.main(["train", str(graph_file), "--steps", str(len(steps)), "--out",
                     str(tmp_path / "same"), "--events", str(same)]) == 0
    assert [e["loss"] for e in read_events(same) if e["kind"] == "step"] == \
        [e["loss"] for e in events if e["kind"] == "step"]


def test_a_second_signal_ends_the_process_at_once(tmp_path):
    code = ("import os, signal, time\n"
            "from composer.runtime.script import StopOnSignal\n"
            "with StopOnSignal() as stop:\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    assert stop({'kind': 'step'}) == 'stop'\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    time.sleep(30)\n")
    proc = start([sys.executable, "-c", code], tmp_path)
    assert proc.wait(60) == -signal.SIGINT, proc.stderr.read()
