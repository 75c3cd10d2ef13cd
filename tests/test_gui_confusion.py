"""After a run in the window, the Results tab shows each classifier's confusion matrix on the
validation split, the numbers a plain torch computation over the trained model gives, and its
most confident mistakes with their images; with TensorBoard ticked, the run writes its curves
into the run folder; without the tensorboard package the window says what to install."""

from __future__ import annotations

import shutil
import sys

import pytest
import torch
from composed_graphs import single_threaded_torch
from conftest import SAMPLES
from gui_helpers import click, open_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from composer.generate.compile import graph_program

pytestmark = pytest.mark.slow

SAMPLE = "hierarchical_digits"  # digits -> conv blocks -> fc2 logits -> clf_loss


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture
def window(qtbot, tmp_path):
    path = tmp_path / f"{SAMPLE}.graph.json"
    shutil.copy(SAMPLES / f"{SAMPLE}.graph.json", path)
    w = open_window(qtbot, tmp_path)
    w.document.open(path)
    yield w
    w.training_panel.shutdown()


def set_steps(panel, steps: int) -> None:
    box = panel.steps
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, str(steps))
    QTest.keyClick(box, Qt.Key.Key_Return)


def show_results(panel) -> None:
    bar = panel.tabs.tabBar()
    click(bar, bar.tabRect(panel.tabs.indexOf(panel.results)).center())
    assert panel.tabs.currentWidget() is panel.results


def plain_confusion(graph, model):
    """The matrix and the most confident mistake, from the validation split's tensors and
    the model's logits, in plain torch."""
    data = graph_program(graph).PROGRAM.make_data(graph.training.seed, graph.base_dir)
    x, y = data["digits"].val["digits.x"], data["digits"].val["digits.y"]
    model.eval()
    with torch.no_grad():
        logits = model({"digits.x": x}, ["fc2.out"])["fc2.out"]
    probability, predicted = torch.softmax(logits, 1).max(1)
    matrix = torch.zeros(10, 10, dtype=torch.int64)
    for t, p in zip(y.tolist(), predicted.tolist(), strict=True):
        matrix[t, p] += 1
    wrong = (predicted != y).nonzero().flatten()
    worst = wrong[probability[wrong].argmax()]
    return matrix, (int(y[worst]), int(predicted[worst]), float(probability[worst]))


def test_results_show_the_confusion_matrix_of_the_trained_model_and_its_worst_mistakes(
        qtbot, window, tmp_path):
    panel = window.training_panel
    click(panel.tensorboard)
    assert panel.tensorboard.isChecked()
    set_steps(panel, 8)
    click(panel.findChild(object, "button_start"))
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    assert panel.error is None
    show_results(panel)
    view = panel.results.confusion
    assert view.isVisible() and view.matrix.rowCount() == 11  # ten classes and precision
    expected, (true, predicted, probability) = plain_confusion(panel.run_graph,
                                                               panel.results.model)
    shown = torch.tensor([[view.matrix.count(t, p) for p in range(10)] for t in range(10)])
    assert torch.equal(shown, expected)
    accuracy = panel.results.table.cell_text(0, 3)  # the run's own validation
    assert accuracy == f"{100 * expected.trace().item() / expected.sum().item():.1f} %"
    tiles = view.mistakes.tiles
    assert tiles and all(tile.picture.pixmap().width() > 8 for tile in tiles)
    assert tiles[0].caption.text() == f"true {true} / pred {predicted} ({probability:.2f})"
    # TensorBoard: in the run's own folder, beside the graph file.
    (logs,) = (tmp_path / "runs" / SAMPLE).glob("*/tensorboard")
    assert logs.parent == panel.runs_view.runs[0].folder
    assert any(f.name.startswith("events.out.tfevents") for f in logs.iterdir())
    assert str(logs) in panel.results.note.text()


def test_without_the_tensorboard_package_the_window_says_which_extra_to_install(
        qtbot, window, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    panel = window.training_panel
    click(panel.tensorboard)
    wanted = "TensorBoard needs the tensorboard extra: pip install 'model-composer[tensorboard]'"
    assert panel.message.isVisible() and panel.message.text() == wanted
    click(panel.findChild(object, "button_start"))
    assert panel.state == "idle" and panel.worker is None
    assert panel.message.text() == wanted
    click(panel.tensorboard)  # off again: the message goes, and a run starts
    assert not panel.message.isVisible()
