"""The rest of the window: clipboard shortcuts, layout, themes, errors, read-only, arguments."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from gui import theme
from gui.app import build_parser, install_excepthook
from gui.main_window import MainWindow
from gui.menus import guarded
from tests.graph_builder import classifier
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys

SHIFT_CTRL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, classifier())
    yield w
    theme.set_dark(False)


def test_copy_paste_and_duplicate_by_keyboard_each_undo_in_one_step(window):
    w = window
    click(w.view.viewport(), node_point(w, "c1"))
    click(w.view.viewport(), node_point(w, "r1"), CTRL)
    press_keys(w, Qt.Key.Key_C, CTRL)
    press_keys(w, Qt.Key.Key_V, CTRL)
    assert {"c1_2", "r1_2"} <= set(w.document.graph.nodes)
    assert sorted(w.scene.selected_node_ids()) == ["c1_2", "r1_2"]
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert "c1_2" not in w.document.graph.nodes
    w.scene.select_nodes(["fc"])
    press_keys(w, Qt.Key.Key_D, SHIFT_CTRL)
    tied = w.document.graph.nodes["fc_2"]
    assert tied.shares == "fc"
    press_keys(w, Qt.Key.Key_D, CTRL)
    assert w.document.graph.nodes["fc_3"].shares == "fc"  # a copy of a tied copy stays tied
    w.scene.select_nodes(["c1"])
    press_keys(w, Qt.Key.Key_D, CTRL)
    assert w.document.graph.nodes["c1_2"].shares is None


def test_auto_layout_places_nodes_left_to_right_and_undoes_in_one_step(qtbot, tmp_path):
    graph = classifier()
    chain = ["d", "c1", "r1", "p1", "f", "fc", "ce"]
    for i, node_id in enumerate(reversed(chain)):  # drawn right to left, in a heap
        graph.nodes[node_id].ui["pos"] = [i * 30.0, i * 20.0]
    w = open_window(qtbot, tmp_path, graph)
    before = w.document.graph.to_dict()
    w.actions["auto_layout"].trigger()
    xs = [w.document.graph.nodes[n].ui["pos"][0] for n in chain]
    assert xs == sorted(xs) and len(set(xs)) == len(chain)
    assert w.scene.node_item("ce").pos().x() == xs[-1]
    assert w.document.undo_stack.count() == 1
    w.actions["undo"].trigger()
    assert w.document.graph.to_dict() == before


def test_dark_mode_switches_the_canvas_and_the_widgets_and_is_remembered(window):
    w = window
    w.actions["dark"].trigger()
    assert theme.current() is theme.DARK
    assert QApplication.palette().window().color().lightness() < 80
    assert w.settings.value("dark", type=bool)
    image = w.view.grab().toImage()
    assert image.pixelColor(5, 5).lightness() < 80
    w.actions["dark"].trigger()
    assert theme.current() is theme.LIGHT


def test_the_minimap_can_be_hidden_and_shown(window):
    w = window
    assert w.minimap.isVisible()
    w.actions["minimap"].trigger()
    assert not w.minimap.isVisible()
    w.actions["minimap"].trigger()
    assert w.minimap.isVisible()


def test_palette_entries_explain_themselves_and_search_filters_them(window):
    palette = window.palette
    item = palette.item_for("layer.conv2d")
    assert item.toolTip(0) == "layer.conv2d: 2-D convolution over feature maps."
    palette.filter("cross_entropy")
    assert palette.visible_type_ids() == ["loss.cross_entropy"]
    palette.filter("")
    assert len(palette.visible_type_ids()) == len(palette.type_items())


def test_an_error_in_an_action_is_shown_and_the_window_carries_on(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "show", lambda box: shown.append(box.text()))

    def broken():
        raise RuntimeError("a bug")

    guarded(window, broken)()
    assert "RuntimeError: a bug" in window.statusBar().currentMessage()
    assert shown and "a bug" in shown[0]
    assert window.isVisible()


def test_the_exception_hook_reports_in_the_window(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "show", lambda box: shown.append(box.text()))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(window)
    try:
        raise ValueError("from a slot")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert "from a slot" in window.statusBar().currentMessage()
    assert shown


def test_while_training_the_panels_and_editing_actions_are_disabled(window):
    w = window
    w.document.set_read_only(True)
    assert not w.inspector.isEnabled() and not w.groups.isEnabled()
    assert not w.actions["paste"].isEnabled() and not w.actions["undo"].isEnabled()
    assert w.actions["copy"].isEnabled() and w.actions["save"].isEnabled()
    w.document.set_read_only(False)
    assert w.inspector.isEnabled() and w.actions["paste"].isEnabled()


def test_the_command_line_takes_a_file_a_screenshot_and_training_steps():
    args = build_parser().parse_args(["g.graph.json", "--screenshot", "o.png",
                                      "--train-steps", "5"])
    assert (args.file, args.screenshot, args.train_steps) == ("g.graph.json", "o.png", 5)


def test_the_window_comes_back_with_the_docks_it_was_closed_with(qtbot, tmp_path):
    first = open_window(qtbot, tmp_path)
    first.groups_dock.hide()
    first.close()
    second = open_window(qtbot, tmp_path)
    assert not second.groups_dock.isHidden()
    second.restore_layout()
    assert second.groups_dock.isHidden()


def test_first_start_docks_show_every_palette_entry_whole(qtbot, tmp_path):
    """Fresh settings, the default window size: no dock is squeezed to a sliver."""
    settings = QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.restore_layout()
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)  # the docks are sized once the window has its size
    assert w.minimumSizeHint().width() <= 1280, "the window cannot fit a 1280 px wide screen"
    tree = w.palette.tree
    metrics = tree.fontMetrics()
    room = tree.viewport().width()
    if not tree.verticalScrollBar().isVisible():  # a shorter screen shows one
        room -= tree.verticalScrollBar().sizeHint().width()
    clipped = []
    for top in range(tree.topLevelItemCount()):
        category = tree.topLevelItem(top)
        for i in range(category.childCount()):
            item = category.child(i)
            right = tree.visualItemRect(item).left() + metrics.horizontalAdvance(item.text(0))
            if right > room:
                clipped.append(item.text(0))
    assert not clipped, f"palette entries cut off: {clipped}"
    assert w.inspector_dock.width() >= 280
