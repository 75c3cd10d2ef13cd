"""Sweeps: a setting named as `composer runs --diff` names it, its values checked before any
run starts, one ordinary run per value, and a results table sorted by a metric, from
`composer sweep` (one after another, or in processes) and from the record later."""

from __future__ import annotations

import json
import re

import pytest
from composed_graphs import SINGLE_THREAD_ENV, multitask, single_threaded_torch
from network_graphs import gan_with_network

import composer
from composer import cli
from composer.graph_diff import diff_graphs
from composer.runs import list_runs, runs_root
from composer.sweep import SweepError, parse_target, plan
from composer.sweep_record import list_sweeps, read_record, rows_of
from composer.sweep_runner import SweepBook, run_here


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def graph_file(tmp_path):
    g = multitask({"type": "sgd", "lr": 0.1})
    g.training.steps_per_epoch = 4
    path = tmp_path / "heads.graph.json"
    composer.save(g, path)
    return path


@pytest.mark.parametrize(("target", "value", "difference"), [
    ("group joint: lr", "0.05", "group joint: lr 0.1 -> 0.05"),
    ("joint.momentum", "0.9", "group joint: momentum 0.0 -> 0.9"),
    ("group joint: lr_schedule.type", "step", None),  # a type is not an argument: refused
    ("group joint: schedule.every", "2", "group joint: schedule.every 1 -> 2"),
    ("node t4: out_features", "16", "node t4: out_features 32 -> 16"),
    ("node mse: weight", "2", "node mse: weight 0.5 -> 2.0"),
    ("t1.padding", "0", "node t1: padding 1 -> 0"),
    ("training: epochs", "3", "training: epochs 2 -> 3"),
    ("training.device", "auto", "training: device cpu -> auto"),
])
def test_a_variant_differs_from_the_graph_in_its_target_alone(target, value, difference):
    g = multitask({"type": "sgd", "lr": 0.1})
    if difference is None:
        with pytest.raises(SweepError, match="has no setting 'lr_schedule.type'"):
            parse_target(g, target)
        return
    sweep = plan(g, target, value)
    assert diff_graphs(g, sweep.variants[0].graph) == [difference]
    assert g == multitask({"type": "sgd", "lr": 0.1})  # the graph itself is untouched


def test_inside_a_network_an_inner_parameter_is_swept_unless_a_network_parameter_sets_it():
    g = gan_with_network()
    sweep = plan(g, "network Discriminator, node drop: p", "0.1, 0.5")
    assert [v.label for v in sweep.variants] == ["p=0.1", "p=0.5"]
    assert diff_graphs(g, sweep.variants[1].graph) == [
        "network Discriminator, node drop: p 0.3 -> 0.5"]
    with pytest.raises(SweepError) as e:
        parse_target(g, "network Discriminator, node fc1: out_features")
    assert str(e.value) == ("network Discriminator, node fc1: out_features: the network's "
                            "parameter width sets it, so each instance decides it; sweep an "
                            "instance's width")


@pytest.mark.parametrize(("target", "values", "message"), [
    ("node t4: out_features", "16, 0",
     "node t4: out_features: expected an integer from 1 to 1000000, got 0"),
    ("group joint: lr", "0.1, fast", 'group joint: lr: expected a number > 0 and <= 10, got '
     '"fast"'),
    ("group joint: lr", "0.1, 0.10", "group joint: lr: 0.1 is listed twice"),
    ("node t4: out_feature", "16",
     "node t4: out_feature: node t4 has no parameter 'out_feature'; did you mean "
     "out_features?"),
    ("group jiont: lr", "0.1", "group jiont: lr: no group 'jiont'; did you mean joint?"),
    ("node b1: out_features", "64, 32", "node b1: out_features = 32: b2: layer.reshape b2: in "
     "is [B,32], 32 values per sample, but shape [B,1,8,8] holds 64; the counts must be "
     "equal"),
])
def test_a_bad_value_stops_the_sweep_before_it_starts_with_one_line(target, values, message):
    with pytest.raises(SweepError) as e:
        plan(multitask(), target, values)
    assert str(e.value) == message


def test_a_value_that_breaks_a_tie_is_named():
    with pytest.raises(SweepError) as e:
        plan(gan_with_network(), "node d_real: width", "32, 64")
    assert str(e.value).startswith("node d_real: width = 64: d_fake/fc1: shares d_real/fc1 but "
                                   "out_features is 32 here but 64 there")


def test_list_values_keep_their_commas():
    sweep = plan(multitask(), "group joint: betas", "[0.5, 0.999], [0.9, 0.99]")
    assert sweep.values == [[0.5, 0.999], [0.9, 0.99]]
    assert [v.label for v in sweep.variants] == ["betas=[0.5, 0.999]", "betas=[0.9, 0.99]"]


def test_stop_ends_the_sweep_after_the_run_going(graph_file):
    g = composer.load(graph_file)
    book = SweepBook(plan(g, "group joint: lr", "0.1, 0.05, 0.01"), runs_root(graph_file),
                     graph_file=graph_file, options={"steps": 2})
    ended = []
    status = run_here(book, stop=lambda: bool(ended),
                      on_end=lambda index, run: ended.append((index, run.record.status)))
    assert status == "stopped" and ended == [(0, "finished")]
    record = read_record(book.path)
    assert record.status == "stopped" and record.runs[1:] == [None, None]
    assert [r.status for r in rows_of(record, book.root)] == ["finished", "not run", "not run"]


def table_of(out: str) -> tuple[list[str], list[list[str]]]:
    """The results table `composer sweep` printed: (header, rows)."""
    lines = out.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("value "))
    cells = [re.split(r" {2,}", line.strip()) for line in lines[start:]
             if not line.startswith("sorted by")]  # cells are two spaces apart at least
    return cells[0], cells[1:]


def test_a_three_value_sweep_gives_three_runs_and_a_table_sorted_by_the_metric(graph_file,
                                                                               capsys):
    code = cli.main(["sweep", str(graph_file), "--set", "group joint: lr", "--values",
                     "0.2, 0.05, 0.01", "--steps", "6", "--sort", "train:mse"])
    out = capsys.readouterr().out
    assert code == 0
    runs, skipped = list_runs(runs_root(graph_file))
    assert len(runs) == 3 and skipped == []  # the sweep's record is no run folder
    assert sorted(r.record.label for r in runs) == ["lr=0.01", "lr=0.05", "lr=0.2"]
    assert all(r.record.status == "finished" and r.record.steps == 6 for r in runs)
    header, rows = table_of(out)
    assert header[:2] == ["value", "status"] and len(rows) == 3
    by_id = {r.id: r for r in runs}
    mse = [by_id[row[-1]].record.final["loss"]["mse"] for row in rows]
    assert mse == sorted(mse) and len(set(mse)) == 3  # lowest first, as recorded
    assert [row[header.index("train mse")] for row in rows] == [f"{m:.4f}" for m in mse]
    assert out.strip().splitlines()[-1] == "sorted by train mse, lowest first"
    for row in rows:  # each run's graph is the file's with its value alone
        run = by_id[row[-1]]
        assert diff_graphs(composer.load(graph_file), run.graph()) == [
            f"group joint: lr 0.1 -> {row[0]}"]
    # The table again, from the record: the same rows.
    assert cli.main(["sweep", str(graph_file), "--show", "--sort", "train:mse"]) == 0
    assert table_of(capsys.readouterr().out)[1] == rows
    record = json.loads(list_sweeps(runs_root(graph_file))[0].read_text())
    assert record["target"] == "group joint: lr" and record["values"] == [0.2, 0.05, 0.01]
    assert record["status"] == "finished" and record["options"] == {"steps": 6}


def test_in_processes_a_failing_run_is_marked_and_the_others_finish(graph_file, capsys,
                                                                    monkeypatch):
    for name, value in SINGLE_THREAD_ENV.items():
        monkeypatch.setenv(name, value)
    code = cli.main(["sweep", str(graph_file), "--set", "node mse: weight", "--values",
                     "1e30, 0.25", "--steps", "4", "--parallel", "2"])
    captured = capsys.readouterr()
    assert code == 1
    runs = {r.record.label: r for r in list_runs(runs_root(graph_file))[0]}
    assert runs["weight=0.25"].record.status == "finished"
    failed = runs["weight=1e+30"].record
    assert failed.status == "failed" and failed.error["node"] == "ce"
    _, rows = table_of(captured.out)
    assert [(row[0], row[1]) for row in rows] == [("0.25", "finished"), ("1e+30", "failed")]
    assert f"error: run weight=1e+30 failed: {failed.error['message']}" in captured.err
    assert (runs["weight=0.25"].folder / "log.txt").is_file()  # the process's own output
