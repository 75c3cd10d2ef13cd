"""Sweep… in the window: a node clicked on the canvas is preselected; a setting picked in the
tree, values typed and Start clicked train one run per value through the Training panel; the
runs are listed as they end and the results table is sorted by the metric whose header is
clicked, as the runs recorded it; a bad value is one line and starts nothing; Stop ends the
queue; several at a time run as processes; the open graph is never changed, and an unsaved
one's sweep is kept for the session."""

from __future__ import annotations

import pytest
from composed_graphs import SINGLE_THREAD_ENV, multitask, single_threaded_torch
from gui_helpers import LEFT, click, node_point, open_window
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import composer
from composer.graph_diff import diff_graphs
from composer.runs import list_runs, runs_root
from composer.sweep_record import list_sweeps, read_record
from gui import theme

pytestmark = pytest.mark.slow


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


@pytest.fixture
def window(qtbot, tmp_path, graph_file):
    w = open_window(qtbot, tmp_path)
    w.document.open(graph_file)
    w.document.analyse_now()
    w.view.fit_all()
    QApplication.processEvents()
    yield w
    w.training_panel.shutdown()


def open_sweep(window, qtbot):
    panel = window.training_panel
    window.training_dock.show()
    window.training_dock.raise_()
    QApplication.processEvents()
    click(panel.findChild(object, "button_sweep"))
    dialog = panel.sweep_dialog
    qtbot.waitExposed(dialog)
    return dialog


def click_target(dialog, text: str) -> None:
    """Clicks the tree's row of a target, unfolding its branch with a click on the arrow."""
    tree = dialog.targets
    item = next(i for i in tree._leaves() if i.data(0, Qt.ItemDataRole.UserRole).text == text)
    parent = item.parent()
    if not parent.isExpanded():
        rect = tree.visualItemRect(parent)
        QTest.mouseDClick(tree.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, rect.center())
    tree.scrollToItem(item)
    QTest.mouseClick(tree.viewport(), LEFT, Qt.KeyboardModifier.NoModifier,
                     tree.visualItemRect(item).center())


def type_into(box, text: str) -> None:
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)


def click_header(dialog, title: str) -> None:
    header = dialog.results.horizontalHeader()
    column = dialog.column_titles().index(title)
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    QTest.mouseClick(header.viewport(), LEFT, Qt.KeyboardModifier.NoModifier,
                     QPoint(x, header.height() // 2))


def table_rows(dialog) -> list[list[str]]:
    t = dialog.results
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_a_three_value_sweep_lists_three_runs_and_sorts_the_table_by_the_chosen_metric(
        qtbot, window, graph_file):
    before = window.document.graph.copy()
    QTest.mouseClick(window.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier,
                     node_point(window, "mse"))
    dialog = open_sweep(window, qtbot)
    assert dialog.targets.target().text == "node mse: weight"  # the clicked node's
    click_target(dialog, "group joint: lr")
    assert "group joint: lr" in dialog.target_text.text() and "now 0.1" in \
        dialog.target_text.text()
    type_into(dialog.values, "0.2, -1")
    type_into(dialog.steps, "6")
    click(dialog.start_button)
    assert dialog.message.text() == "group joint: lr: expected a number > 0 and <= 10, got -1"
    assert not dialog.running and list_sweeps(runs_root(graph_file)) == []
    type_into(dialog.values, "0.2, 0.05, 0.01")
    click(dialog.start_button)
    qtbot.waitUntil(lambda: not dialog.running, timeout=90_000)
    runs = {r.id: r for r in list_runs(runs_root(graph_file))[0]}
    view = window.training_panel.runs_view
    assert view.tree.topLevelItemCount() == 3  # listed in the Training panel
    assert sorted(view.tree.topLevelItem(i).text(0).split(" \u00b7 ")[1] for i in range(3)) \
        == ["lr=0.01", "lr=0.05", "lr=0.2"]
    assert all(r.record.steps == 6 and r.record.status == "finished" for r in runs.values())
    titles = dialog.column_titles()
    assert titles[:2] == ["value", "status"] and titles[-1] == "run"

    def recorded(kind: str, name: str) -> list[float]:
        return [runs[row[-1]].record.final[kind][name] for row in table_rows(dialog)]

    val = recorded("val", "ce")  # sorted by the first validation loss at first
    assert val == sorted(val) and len(set(val)) == 3
    assert dialog.summary.text() == "3 of 3 runs done; sorted by val ce, lowest first"
    click_header(dialog, "train mse")
    mse = recorded("loss", "mse")
    assert mse == sorted(mse) and len(set(mse)) == 3
    assert [row[titles.index("train mse")] for row in table_rows(dialog)] == \
        [f"{m:.4f}" for m in mse]
    click_header(dialog, "train mse")  # again: the other way
    assert recorded("loss", "mse") == sorted(mse, reverse=True)
    click_header(dialog, "accuracy ce")  # accuracy: highest first
    accuracy = recorded("accuracy", "ce")
    assert accuracy == sorted(accuracy, reverse=True)
    assert diff_graphs(before, window.document.graph) == [] and not window.document.dirty
    record = read_record(list_sweeps(runs_root(graph_file))[0])
    assert record.status == "finished" and sorted(record.runs) == sorted(runs)


def test_stop_ends_the_queue_after_the_run_going_and_an_unsaved_graph_keeps_its_runs(
        qtbot, tmp_path):
    g = multitask({"type": "sgd", "lr": 0.1})
    g.training.steps_per_epoch = 4
    window = open_window(qtbot, tmp_path, g)  # never saved: the session's runs folder
    try:
        dialog = open_sweep(window, qtbot)
        click_target(dialog, "node mse: weight")
        type_into(dialog.values, "0.5, 1, 2")
        click(dialog.start_button)
        click(dialog.stop_button)
        qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
        assert [row[1] for row in table_rows(dialog)] == ["stopped", "not run", "not run"]
        view = window.training_panel.runs_view
        assert view.tree.topLevelItemCount() == 1 and len(list_runs(view.root())[0]) == 1
        assert read_record(list_sweeps(view.root())[0]).status == "stopped"
        assert dialog.message.text() == "Sweep stopped."
        assert dialog.start_button.isEnabled() and window.training_panel.state == "idle"
    finally:
        window.training_panel.shutdown()


def test_two_at_a_time_run_as_processes_and_a_failed_one_is_marked(qtbot, window, graph_file,
                                                                   monkeypatch):
    for name, value in SINGLE_THREAD_ENV.items():
        monkeypatch.setenv(name, value)
    dialog = open_sweep(window, qtbot)
    click_target(dialog, "node mse: weight")
    type_into(dialog.values, "1e30, 0.25")
    type_into(dialog.steps, "4")
    type_into(dialog.parallel, "2")
    click(dialog.start_button)
    assert window.training_panel.state == "idle"  # not through the panel's worker
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    runs = {r.record.label: r for r in list_runs(runs_root(graph_file))[0]}
    failed = runs["weight=1e+30"].record
    assert failed.status == "failed" and runs["weight=0.25"].record.status == "finished"
    rows = table_rows(dialog)
    assert [(row[0], row[1]) for row in rows] == [("0.25", "finished"), ("1e+30", "failed")]
    status = dialog.results.item(1, 1)
    assert status.toolTip() == failed.error["message"]
    assert status.foreground().color() == theme.ERROR_COLOR
    assert window.training_panel.runs_view.tree.topLevelItemCount() == 2
    assert dialog.message.text() == "Sweep failed: 1 run failed (hover its status for why)"
