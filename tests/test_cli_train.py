"""`composer train` and `composer export` on the command line: exit codes, progress, summary,
metrics, checkpoints, and clear messages when something is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from composed_graphs import SINGLE_THREAD_ENV, chain, single_threaded_torch

import composer
from composer import cli
from composer.graph import Group


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "clf.graph.json"
    composer.save(chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=4), path)
    return path


def test_train_prints_a_summary_and_writes_metrics_and_a_checkpoint(graph_file, tmp_path,
                                                                   capsys):
    metrics = tmp_path / "m.jsonl"
    code = cli.main(["train", str(graph_file), "--steps", "6", "--seed", "2",
                     "--out", str(tmp_path / "run"), "--metrics-out", str(metrics)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0].split() == ["loss", "node", "group", "last", "train", "val",
                                           "accuracy"]
    assert any(line.startswith("ce ") and " g " in line for line in out.splitlines())
    assert "finished after 6 steps" in out
    assert "6/6" in err and "epoch 0: val" in err
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    api = composer.train(composer.load(graph_file), steps=6, seed=2)
    assert lines == api.history
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


def test_train_resumes_from_a_checkpoint(graph_file, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert cli.main(["train", str(graph_file), "--steps", "6", "--out", run,
                     "--checkpoint-every", "3", "--metrics-out", str(tmp_path / "a.jsonl")]) == 0
    assert cli.main(["train", str(graph_file), "--steps", "6", "--out", run,
                     "--resume", f"{run}/checkpoint_step3.pt",
                     "--metrics-out", str(tmp_path / "b.jsonl")]) == 0
    full = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    rest = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [r for r in rest if "loss" in r] == [r for r in full if "loss" in r][3:]


def test_train_exits_1_naming_the_node_of_a_graph_with_errors(tmp_path, capsys):
    g = chain([Group("g", ["a", "b"], ["ce"])])
    g.edges = [e for e in g.edges if e.dst != "b"]
    composer.save(g, tmp_path / "broken.graph.json")
    assert cli.main(["train", str(tmp_path / "broken.graph.json"), "--steps", "2",
                     "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: b") and "in" in err


def test_train_and_export_exit_1_on_an_unreadable_file(tmp_path, capsys):
    (tmp_path / "bad.graph.json").write_text("{ not json")
    assert cli.main(["train", str(tmp_path / "bad.graph.json")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "bad.graph.json"), "-o",
                     str(tmp_path / "x.py")]) == 1
    assert not (tmp_path / "x.py").exists()


def test_export_writes_a_file_that_python_can_run(graph_file, tmp_path, capsys):
    out = tmp_path / "train_clf.py"
    assert cli.main(["export", str(graph_file), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    compile(out.read_text(), str(out), "exec")
    assert out.read_text() == composer.export_python(composer.load(graph_file))


def test_composer_train_runs_as_a_command(graph_file, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "composer", "train", str(graph_file), "--steps", "3",
         "--out", "run", "--epochs", "1"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env=os.environ | SINGLE_THREAD_ENV)
    assert result.returncode == 0, result.stderr
    assert "finished after 3 steps" in result.stdout
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    bad = subprocess.run([sys.executable, "-m", "composer", "train", "missing.graph.json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=os.environ | SINGLE_THREAD_ENV)
    assert bad.returncode == 1 and "missing.graph.json" in bad.stderr
