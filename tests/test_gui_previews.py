"""Previews in the window: an output watched from the canvas's menu (one undoable edit) shows
beside the curves what the run makes of it after each epoch; the GAN's samples change from one
epoch to the next, the detector's proposed boxes are drawn on its images, a picture saves as
PNG, and Preview now computes the trained model's."""

from __future__ import annotations

import pytest
from conftest import SAMPLES
from gui_helpers import CTRL, click, open_window, port_point, press_keys
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

import composer
from gui.training.preview_images import BOX_COLOR

pytestmark = pytest.mark.slow


def sample(name: str, steps_per_epoch: int) -> composer.Graph:
    g = composer.load(SAMPLES / name)
    g.training.steps_per_epoch = steps_per_epoch
    g.training.device = "cpu"
    return g


@pytest.fixture
def gan_window(qtbot, tmp_path):
    g = sample("gan_digits.graph.json", 3)
    g.ui.pop("watch")  # the user chooses what to watch here
    window = open_window(qtbot, tmp_path, g)
    yield window
    window.training_panel.shutdown()


def choose_from_context_menu(qtbot, window, at: QPoint, text: str) -> None:
    """Right-clicks the canvas at `at` and clicks the menu entry `text` with the mouse."""
    chosen: list[str] = []

    def click_entry() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        action = next(a for a in menu.actions() if a.text() == text)
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        chosen.append(text)

    QTimer.singleShot(200, click_entry)
    viewport = window.view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.RightButton, pos=at)
    # The window system follows a right click with a context-menu event; QTest does not.
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at,
                                                       viewport.mapToGlobal(at)))
    qtbot.waitUntil(lambda: chosen == [text], timeout=5000)


def picture(card) -> QImage:
    return QImage(card.image)


def train(qtbot, window, steps: int) -> None:
    panel = window.training_panel
    panel.steps.setValue(steps)
    click(panel.findChild(object, "button_start"))
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    assert panel.error is None


def test_watching_the_generator_from_its_port_shows_samples_that_change_each_epoch(
        qtbot, gan_window):
    window, panel = gan_window, gan_window.training_panel
    assert not panel.previews.isVisible()
    choose_from_context_menu(qtbot, window, port_point(window, "g_img", "out", True),
                             "Watch g_img.out")
    assert window.document.graph.ui["watch"] == ["g_img.out"] and window.document.dirty
    press_keys(window, Qt.Key.Key_Z, CTRL)
    assert "watch" not in window.document.graph.ui and not panel.previews.isVisible()
    press_keys(window, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.document.graph.ui["watch"] == ["g_img.out"] and panel.previews.isVisible()
    train(qtbot, window, 6)
    view = panel.previews
    assert [(r["epoch"], r["step"]) for r in view.records] == [(0, 2), (1, 5)]
    card = view.cards["g_img.out"]
    assert (card.image.width(), card.image.height()) == (230, 230)  # 4x4 digits of 56 px
    latest = picture(card)
    view.slider.setFocus()
    QTest.keyClick(view.slider, Qt.Key.Key_Left)  # back to the first epoch
    assert view.when.text() == "epoch 1 \u00b7 step 3"
    first = picture(card)
    assert first.size() == latest.size() and first != latest


def box_pixels(image: QImage) -> int:
    """Pixels of the boxes' colour (sampled on every second row and column)."""
    return sum(image.pixelColor(x, y) == BOX_COLOR
               for y in range(0, image.height(), 2) for x in range(0, image.width(), 2))


def test_the_detectors_boxes_are_drawn_on_its_images_save_as_png_and_preview_on_demand(
        qtbot, tmp_path, monkeypatch):
    window = open_window(qtbot, tmp_path, sample("detector_shapes.graph.json", 2))
    panel = window.training_panel
    try:
        train(qtbot, window, 2)
        card = panel.previews.cards["rpn_box.out"]
        assert card.detail.text() == "[B,4] \u00b7 16 boxes on shapes.x"
        assert box_pixels(card.image) > 100
        target = tmp_path / "boxes.png"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
        click(card.save_button)
        saved = QImage(str(target))
        assert saved.size() == card.image.size() and box_pixels(saved) == box_pixels(card.image)
        click(panel.previews.now_button)  # after the run: the trained model's
        qtbot.waitUntil(lambda: len(panel.previews.records) == 2, timeout=30_000)
        assert panel.previews.when.text() == "the trained model"
        assert box_pixels(card.image) > 100
    finally:
        panel.shutdown()


def test_an_output_watched_while_training_is_previewed_at_the_next_step(qtbot, gan_window):
    window, panel = gan_window, gan_window.training_panel
    window.document.graph.training.steps_per_epoch = 100_000  # no epoch ends in this test
    panel.steps.setValue(100_000)
    click(panel.findChild(object, "button_start"))
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done >= 2,
                    timeout=60_000)
    choose_from_context_menu(qtbot, window, port_point(window, "g_fc1", "out", True),
                             "Watch g_fc1.out")
    view = panel.previews
    qtbot.waitUntil(lambda: len(view.records) == 1, timeout=10_000)
    assert view.records[0]["asked"] and view.records[0]["outputs"]["g_fc1.out"].shape == (16, 256)
    assert view.cards["g_fc1.out"].detail.text() == "[B,256] \u00b7 rows 0-3, 64 of 256 scores each"
    click(view.now_button)
    qtbot.waitUntil(lambda: len(view.records) == 2, timeout=10_000)
    assert view.records[1]["step"] > view.records[0]["step"]
    panel.stop()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=30_000)


def test_deleting_a_watched_node_stops_watching_it_in_the_same_undo_step(qtbot, gan_window):
    window = gan_window
    choose_from_context_menu(qtbot, window, port_point(window, "g_img", "out", True),
                             "Watch g_img.out")
    window.scene.select_nodes(["g_img"])
    press_keys(window, Qt.Key.Key_Delete)
    assert "g_img" not in window.document.graph.nodes and "watch" not in window.document.graph.ui
    press_keys(window, Qt.Key.Key_Z, CTRL)
    assert window.document.graph.ui["watch"] == ["g_img.out"]

