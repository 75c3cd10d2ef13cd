"""Runs as folders: `composer train` records each run (finished, stopped or failed) beside its
graph or in --out DIR; listing a graph's runs skips what is not a run and says why; a run's
graph.json trained again with the same seed gives the same metrics; `composer runs` lists and
compares runs."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from composed_graphs import chain, single_threaded_torch

import composer
from composer import cli
from composer.graph import Group
from composer.graph_diff import diff_graphs
from composer.runs import (
    RunRecord,
    list_runs,
    load_run,
    new_run_folder,
    read_metrics,
    runs_root,
    train_run,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "clf.graph.json"
    composer.save(chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=4), path)
    return path


def only_run(graph_file: Path):
    runs, skipped = list_runs(runs_root(graph_file))
    assert len(runs) == 1 and skipped == []
    return runs[0]


def test_a_cli_run_lands_beside_its_graph_with_graph_metrics_checkpoint_and_record(
        graph_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")  # the default place follows the graph, not the cwd
    assert cli.main(["train", str(graph_file), "--steps", "6", "--seed", "5", "--epochs", "3",
                     "--label", "seed five"]) == 0
    run = only_run(graph_file)
    assert run.folder.parent == tmp_path / "runs" / "clf"
    assert datetime.strptime(run.id, "%Y-%m-%d_%H-%M-%S")  # its start time, sortable
    assert capsys.readouterr().out.splitlines()[-1] == f"run {run.folder}"
    r = run.record
    assert (r.status, r.steps, r.seed, r.label, r.processes) == ("finished", 6, 5, "seed five", 1)
    assert r.options == {"epochs": 3, "steps": 6, "seed": 5}
    assert r.device == "cpu" and r.versions["torch"] == __import__("torch").__version__
    assert r.duration_s > 0 and r.graph_file == str(graph_file)
    trained = run.graph()
    assert (trained.training.seed, trained.training.epochs) == (5, 3)  # overrides written in
    metrics = run.metrics()
    assert [m["step"] for m in metrics if "loss" in m] == list(range(6))
    assert r.final["loss"]["ce"] == [m for m in metrics if "loss" in m][-1]["loss"]["ce"]
    assert r.final["val"] == [m for m in metrics if "val" in m][-1]["val"]
    assert 0 <= r.final["accuracy"]["ce"] <= 1
    assert run.checkpoint is not None and run.checkpoint.stat().st_size > 0


def test_out_puts_the_run_in_that_folder_exactly_and_metrics_out_is_copied_in(graph_file,
                                                                               tmp_path):
    out, metrics = tmp_path / "mine", tmp_path / "m.jsonl"
    assert cli.main(["train", str(graph_file), "--steps", "3", "--out", str(out),
                     "--metrics-out", str(metrics)]) == 0
    run = load_run(out)
    assert run.id == "mine" and run.record.status == "finished" and run.record.steps == 3
    assert (out / "metrics.jsonl").read_text() == metrics.read_text()
    assert (out / "checkpoint.pt").is_file() and not (tmp_path / "runs").exists()


def test_a_stopped_run_is_recorded_as_stopped_with_the_steps_it_did(graph_file, tmp_path):
    def stop_after_two(event):
        return "stop" if event["kind"] == "step" and event["step"] == 1 else None

    result = train_run(composer.load(graph_file), tmp_path / "run", steps=50,
                       callback=stop_after_two)
    record = load_run(tmp_path / "run").record
    assert result.status == "stopped"
    assert (record.status, record.steps) == ("stopped", 2)
    assert record.final["val"]  # the last validation of the unfinished epoch


def test_a_failed_run_is_recorded_with_its_message_and_node(tmp_path, capsys):
    g = chain([Group("g", ["a", "b"], ["ce"])])
    g.edges = [e for e in g.edges if e.dst != "b"]  # b's input unwired: it cannot compile
    composer.save(g, tmp_path / "broken.graph.json")
    assert cli.main(["train", str(tmp_path / "broken.graph.json"), "--steps", "2"]) == 1
    assert capsys.readouterr().err.startswith("error: b")
    run = only_run(tmp_path / "broken.graph.json")
    assert run.record.status == "failed" and run.record.steps == 0
    assert run.record.error["node"] == "b.in" and "b" in run.record.error["message"]
    assert run.checkpoint is None


def test_an_unreadable_graph_file_leaves_no_run_folder(tmp_path, capsys):
    (tmp_path / "bad.graph.json").write_text("{ not json")
    assert cli.main(["train", str(tmp_path / "bad.graph.json")]) == 1
    assert not (tmp_path / "runs").exists()


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    now = datetime(2026, 12, 2, 14, 3, 11)
    names = [new_run_folder(tmp_path, now).name for _ in range(3)]
    assert names == ["2026-12-02_14-03-11", "2026-12-02_14-03-11-2", "2026-12-02_14-03-11-3"]


def test_listing_skips_damaged_and_foreign_folders_saying_why(graph_file, tmp_path):
    assert cli.main(["train", str(graph_file), "--steps", "2"]) == 0
    root = runs_root(graph_file)
    good = only_run(graph_file)
    (root / "notes").mkdir()
    (root / "torn").mkdir()
    (root / "torn" / "run.json").write_text('{"format": "composer-run", "id": ')
    (root / "foreign").mkdir()
    (root / "foreign" / "run.json").write_text('{"format": "something-else"}')
    shutil.copytree(good.folder, root / "no_graph")
    (root / "no_graph" / "graph.json").unlink()
    (root / "odd_status").mkdir()
    (root / "odd_status" / "run.json").write_text(json.dumps(
        RunRecord("x", "2026-01-01T00:00:00", status="finished").to_dict() | {"status": "?"}))
    (root / "odd_final").mkdir()
    (root / "odd_final" / "run.json").write_text(json.dumps(
        RunRecord("y", "2026-01-01T00:00:00").to_dict() | {"final": {"val": ["x"]}}))
    (root / "stray.txt").write_text("not a folder")
    runs, skipped = list_runs(root)
    assert [r.id for r in runs] == [good.id]
    reasons = {folder.name: reason for folder, reason in skipped}
    assert reasons == {"foreign": 'run.json: not a run record (no "format": "composer-run")',
                       "no_graph": "no graph.json",
                       "notes": "no run.json (not a run folder)",
                       "odd_final": "run.json: final: not what a run record holds there",
                       "odd_status": "run.json: unknown status '?'",
                       "torn": "run.json: not valid JSON (line 1)"}
    assert list_runs(tmp_path / "nowhere") == ([], [])


def test_a_runs_graph_trained_again_with_the_same_seed_gives_the_same_metrics(tmp_path):
    sample = tmp_path / "multitask_digits.graph.json"
    shutil.copyfile(SAMPLES / sample.name, sample)
    assert cli.main(["train", str(sample), "--steps", "5", "--seed", "3"]) == 0
    first = only_run(sample)
    again = tmp_path / "again"
    assert cli.main(["train", str(first.folder / "graph.json"), "--out", str(again),
                     "--steps", str(first.record.options["steps"])]) == 0
    second = load_run(again)
    assert second.record.seed == 3
    assert read_metrics(again / "metrics.jsonl") == first.metrics()
    assert second.record.final == first.record.final
    assert diff_graphs(first.graph(), second.graph()) == []


def test_composer_runs_lists_newest_first_and_diffs_two_runs(graph_file, tmp_path, capsys):
    assert cli.main(["train", str(graph_file), "--steps", "2", "--out",
                     str(runs_root(graph_file) / "a")]) == 0
    g = composer.load(graph_file)
    g.groups[0].optimizer["lr"] = 0.0002
    composer.save(g, graph_file)
    assert cli.main(["train", str(graph_file), "--steps", "3", "--label", "slower",
                     "--out", str(runs_root(graph_file) / "b")]) == 0
    (runs_root(graph_file) / "junk").mkdir()
    capsys.readouterr()
    assert cli.main(["runs", str(graph_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "status", "steps", "duration", "result", "label"]
    assert [line.split()[0] for line in lines[1:3]] == ["b", "a"]  # newest first
    assert lines[1].split()[1:4] == ["finished", "3", "steps"] and lines[1].endswith("slower")
    assert "ce acc" in lines[1]
    assert lines[3] == "skipped junk: no run.json (not a run folder)"
    assert cli.main(["runs", str(graph_file), "--diff", "a", "b"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["graph a -> b: 1 difference", "  group g: lr 0.001 -> 0.0002"]
    table = {cells[0]: cells[1:] for line in out[3:] if (cells := re.split(r"\s{2,}", line))}
    assert table["metric"] == ["a", "b"] and table["steps"] == ["2", "3"]
    assert table["val ce"][0] != table["val ce"][1]
    assert cli.main(["runs", str(graph_file), "--diff", "a", "c"]) == 1
    assert "no run 'c'" in capsys.readouterr().err
