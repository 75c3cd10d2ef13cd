"""The graph's training settings are edited in the window, undone, saved and run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

import composer
from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, open_window, press_keys

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
