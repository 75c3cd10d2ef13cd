"""The graph's training settings are edited in the window, undone, saved and run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionButton

import composer
from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, click, open_window, press_keys

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, classifier())


def retype(field, text: str) -> None:
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_A, CTRL)
    QTest.keyClicks(field, text)


def test_epochs_set_in_the_window_are_what_composer_train_runs(window, tmp_path):
    w = window
    assert w.inspector.node_ids == []  # nothing selected: the graph's settings show
    retype(w.training_panel.epochs, "3")
    assert w.document.graph.training.epochs == 3
    assert w.inspector.editors["epochs"].field.value() == 3  # one value, shown twice
    retype(w.inspector.editors["steps_per_epoch"].field, "2")
    assert w.document.graph.training.steps_per_epoch == 2
    path = tmp_path / "classifier.graph.json"
    w.document.save(path)
    run = composer.train(composer.load(path))
    assert sorted({record["epoch"] for record in run.history}) == [0, 1, 2]
    assert run.steps == 6


def test_training_settings_are_undone_in_the_inspector_and_the_training_panel(window):
    w = window
    retype(w.inspector.editors["epochs"].field, "12")
    assert w.training_panel.epochs.value() == 12
    retype(w.inspector.editors["seed"].field, "7")
    assert w.document.graph.training.seed == 7
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.training.seed == 0
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.training.epochs == 5
    assert w.training_panel.epochs.value() == 5
    assert w.inspector.editors["epochs"].field.value() == 5
    press_keys(w, Qt.Key.Key_Z, SHIFT_CTRL)
    assert w.training_panel.epochs.value() == 12


def test_a_steps_per_epoch_of_zero_is_refused_under_its_field(window):
    w = window
    retype(w.inspector.editors["steps_per_epoch"].field, "0")
    assert w.document.graph.training.steps_per_epoch is None
    assert w.inspector.editors["steps_per_epoch"].error.isVisible()


def test_a_graph_with_errors_does_not_start_training_and_its_first_error_is_selected(window):
    from composer.graph import Edge

    w = window
    w.document.remove_items([], [Edge("p1", "out", "f", "in")])
    press_keys(w, Qt.Key.Key_F9)
    panel = w.training_panel
    assert panel.state == "idle" and panel.worker is None
    assert not w.document.read_only
    assert panel.message.isVisible()
    assert panel.message.text().startswith("Cannot start training: f.in: input in is not wired")
    assert w.scene.selected_node_ids() == ["f"]
    assert panel.failure_box is None


def test_precision_and_compile_chosen_in_the_inspector_are_saved_and_undone(window, tmp_path):
    w = window
    combo = w.inspector.editors["precision"].field
    assert combo.currentText() == "32"
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)  # "32" -> "bf16-mixed", as a keyboard user picks
    assert w.document.graph.training.precision == "bf16-mixed"
    check = w.inspector.editors["compile"].field
    option = QStyleOptionButton()
    check.initStyleOption(option)
    box = check.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, check)
    QTest.mouseClick(check, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     box.center())
    assert w.document.graph.training.compile is True
    path = tmp_path / "mixed.graph.json"
    w.document.save(path)
    loaded = composer.load(path)
    assert (loaded.training.precision, loaded.training.compile) == ("bf16-mixed", True)
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.training.compile is False and not check.isChecked()
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.training.precision == "32" and combo.currentText() == "32"


def test_the_device_list_offers_each_cuda_device_when_there_are_some(window, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    box = window.inspector.device_box
    click(box)  # opening the list looks for CUDA devices
    box.hidePopup()
    items = [box.itemText(i) for i in range(box.count())]
    assert items == ["auto", "cpu", "cuda", "cuda:1"]
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_End)  # the last device, as a keyboard user picks it
    assert window.document.graph.training.device == "cuda:1"


def test_sync_batchnorm_is_a_checkbox_of_the_training_settings_saved_with_the_file(
        window, tmp_path):
    w = window
    box = w.inspector.editors["sync_batchnorm"].field
    assert not box.isChecked()
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert w.document.graph.training.sync_batchnorm is True
    path = tmp_path / "classifier.graph.json"
    w.document.save(path)
    assert composer.load(path).training.sync_batchnorm is True
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert w.document.graph.training.sync_batchnorm is False
    assert not box.isChecked()
