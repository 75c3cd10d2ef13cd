"""The runs of the open graph in the Training panel: runs trained in the window are recorded and
listed; two runs selected with the mouse and Overlay ticked are drawn dimmed behind the curves;
Compare names the changed learning rate; Restore brings an old run's graph back as one edit,
and Undo returns the graph it replaced."""

from __future__ import annotations

import pytest
from composed_graphs import multitask, single_threaded_torch
from gui_helpers import CTRL, LEFT, click, open_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import composer
from composer import cli
from composer.graph_diff import diff_graphs
from composer.runs import list_runs, runs_root


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def graph_file(tmp_path):
    g = multitask()
    g.training.steps_per_epoch = 4
    path = tmp_path / "heads.graph.json"
    composer.save(g, path)
    return path


@pytest.fixture
def window(qtbot, tmp_path, graph_file):
    w = open_window(qtbot, tmp_path)
    w.document.open(graph_file)
    w.training_dock.show()
    w.training_dock.raise_()
    w.resizeDocks([w.training_dock], [430], Qt.Orientation.Vertical)
    QApplication.processEvents()
    show_runs(w.training_panel)
    yield w
    w.training_panel.shutdown()


def two_runs(graph_file):
    """A run at lr 0.001, then one at lr 0.0005, as `composer train` makes them."""
    assert cli.main(["train", str(graph_file), "--steps", "8", "--label", "lr 1e-3"]) == 0
    g = composer.load(graph_file)
    g.groups[0].optimizer["lr"] = 0.0005
    composer.save(g, graph_file)
    assert cli.main(["train", str(graph_file), "--steps", "12", "--label", "lr 5e-4"]) == 0
    newer, older = list_runs(runs_root(graph_file))[0]
    return older, newer


def show_runs(panel) -> None:
    """Clicks the Training panel's Runs tab."""
    bar = panel.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Runs")
    QTest.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert panel.tabs.currentWidget() is panel.runs_view


def click_row(view, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    tree = view.tree
    rect = tree.visualItemRect(tree.topLevelItem(row))
    QTest.mouseClick(tree.viewport(), LEFT, modifier, rect.center())


def test_a_run_trained_in_the_window_is_recorded_and_listed_when_it_ends(qtbot, window,
                                                                         graph_file):
    panel = window.training_panel
    view = panel.runs_view
    assert view.tree.topLevelItemCount() == 0 and view.title.text() == "Runs of heads.graph.json"
    box = panel.steps
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "6")
    click(panel.findChild(object, "button_start"))
    qtbot.waitUntil(lambda: panel.state == "idle" and panel.worker.result is not None,
                    timeout=60_000)
    runs, _ = list_runs(runs_root(graph_file))
    assert len(runs) == 1 and runs[0].record.status == "finished" and runs[0].record.steps == 6
    assert runs[0].folder.parent == graph_file.parent / "runs" / "heads"
    item = view.tree.topLevelItem(0)
    assert view.tree.topLevelItemCount() == 1
    assert (item.text(0), item.text(1)) == (runs[0].id, "finished")
    assert item.text(2).startswith("ce acc ")  # the key figure: the classifier's accuracy
    assert diff_graphs(runs[0].graph(), window.document.graph) == []  # as it trained


def test_two_runs_selected_and_overlaid_are_drawn_dimmed_behind_the_curves(qtbot, window,
                                                                           graph_file):
    older, newer = two_runs(graph_file)
    panel = window.training_panel
    view = panel.runs_view
    assert view.tree.topLevelItemCount() == 0  # made outside the window: not read yet
    click(view.refresh_button)
    assert [view.tree.topLevelItem(i).text(0) for i in range(2)] == [
        f"{newer.id} \u00b7 lr 5e-4", f"{older.id} \u00b7 lr 1e-3"]  # newest first
    click_row(view, 0)
    click_row(view, 1, CTRL)
    click(view.overlay)
    assert view.overlay.isChecked()
    assert panel.tabs.currentWidget() is panel.curves_area  # the curves, runs behind them
    overlay = panel.overlay
    for run, steps in ((newer, 12), (older, 8)):
        for loss in ("ce", "mse"):
            curve = overlay.items[(run.id, "loss", loss)]
            assert len(curve.xData) == steps and curve.zValue() < 0  # behind the live ones
            assert curve.opts["pen"].color().alpha() < 255
        assert (run.id, "val", "ce") in overlay.items
    styles = {overlay.items[(r.id, "loss", "ce")].opts["pen"].style() for r in (newer, older)}
    assert len(styles) == 2  # a dash pattern of its own for each run
    labels = [label.text for _, label in panel.curves.legend.items]
    assert "run lr 5e-4" in labels and "run lr 1e-3" in labels  # the runs' labels
    show_runs(panel)
    click(view.overlay)  # off again: the past runs leave the plots
    assert overlay.items == {} and not any(
        label.text.startswith("run ") for _, label in panel.curves.legend.items)


def test_compare_names_the_changed_learning_rate_and_shows_both_runs_metrics(qtbot, window,
                                                                             graph_file):
    older, newer = two_runs(graph_file)
    view = window.training_panel.runs_view
    view.refresh()
    assert not view.compare_button.isEnabled()
    click_row(view, 0)
    click_row(view, 1, CTRL)
    assert view.compare_button.isEnabled()
    click(view.compare_button)
    dialog = view.compare_dialog
    qtbot.waitExposed(dialog)
    assert dialog.difference_lines() == ["group joint: lr 0.001 -> 0.0005"]
    table = dialog.metrics
    assert [table.horizontalHeaderItem(c).text() for c in range(3)] == ["metric", older.id,
                                                                        newer.id]
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in (1, 2)]
            for r in range(table.rowCount())}
    assert rows["steps"] == ["8", "12"]
    assert rows["val ce"] == [f"{older.record.final['val']['ce']:.4f}",
                              f"{newer.record.final['val']['ce']:.4f}"]
    dialog.close()


def test_restore_brings_an_old_runs_graph_back_and_undo_returns_the_current_one(
        qtbot, window, graph_file):
    older, _ = two_runs(graph_file)
    document = window.document
    document.open(graph_file)  # as saved now: lr 0.0005
    view = window.training_panel.runs_view
    view.refresh()
    click_row(view, 1)  # the older run
    click(view.restore_button)
    assert document.graph.groups[0].optimizer["lr"] == 0.001
    assert diff_graphs(older.graph(), document.graph) == []
    assert document.dirty and window.training_panel.message.text().startswith(
        f"Restored the graph of run {older.id}")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Z, CTRL)
    assert document.graph.groups[0].optimizer["lr"] == 0.0005
    assert not document.dirty
