"""The window never dies of an error: an exception in a slot, an action or another thread is
shown in the window and the log, and the graph stays editable and savable; hostile display
settings in a file are dropped, not drawn; data problems are shown where the user looks."""

from __future__ import annotations

import json
import logging
import random
import sys
import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from composer import fileformat
from composer.errors import GraphFormatError
from gui.app import install_excepthook
from gui.canvas import layout
from tests.graph_builder import classifier, make
from tests.gui_helpers import click, node_point, open_window


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A window with the application's error hooks (restored afterwards) and a message box
    that records instead of showing."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    w = open_window(qtbot, tmp_path, classifier())
    install_excepthook(w)
    w.boxes = []
    monkeypatch.setattr(QMessageBox, "show", lambda box: w.boxes.append(box.text()))
    return w


def still_editable_and_savable(w, tmp_path) -> None:
    added = w.document.add_node("layer.relu", (600.0, 0.0))
    assert added in w.document.graph.nodes and w.document.dirty
    assert w.files._save_to(tmp_path / "after.graph.json")
    assert added in fileformat.load(tmp_path / "after.graph.json").nodes


def test_an_exception_in_a_slot_is_shown_and_logged_and_the_graph_stays_usable(
        window, tmp_path, qtbot, caplog, monkeypatch):
    w = window

    def broken(node_id, label):
        raise RuntimeError("label store failed")

    monkeypatch.setattr(w.document, "set_label", broken)
    click(w.view.viewport(), node_point(w, "c1"))
    with caplog.at_level(logging.ERROR):
        QTest.keyClicks(w.inspector.label_edit, "x")  # textEdited -> the broken slot
    qtbot.waitUntil(lambda: bool(w.boxes))
    assert "RuntimeError: label store failed" in w.boxes[0]
    assert "label store failed" in w.statusBar().currentMessage()
    assert "label store failed" in caplog.text and "Traceback" in caplog.text
    assert w.isVisible()
    monkeypatch.undo()
    still_editable_and_savable(w, tmp_path)


def test_a_failing_action_is_reported_and_saving_still_works(window, tmp_path, monkeypatch):
    w = window
    def broken(*args):
        raise KeyError("layout lost a node")

    monkeypatch.setattr(layout, "layout_positions", broken)  # called by Graph > Auto-Layout
    w.actions["auto_layout"].trigger()
    assert w.boxes and "KeyError" in w.boxes[0] and "layout lost a node" in w.boxes[0]
    still_editable_and_savable(w, tmp_path)


def test_an_exception_in_another_thread_is_shown_in_the_window(window, qtbot):
    def work():
        raise ValueError("background job failed")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(window.boxes))
    assert "ValueError: background job failed" in window.boxes[0]


def test_display_settings_the_canvas_cannot_use_are_dropped_and_said(qtbot, tmp_path):
    data = classifier().to_dict()
    odd = ["12", [], {"x": 1}, [10**400, 0], [True, False], [1e300, 5]]
    for node, pos in zip(data["nodes"], odd, strict=False):
        node["ui"] = {"pos": pos}
    data["nodes"][-1]["ui"] = {"pos": [40, 40], "note": "kept"}
    data["groups"][0]["ui"] = {"color": "red'><b>x</b>"}
    path = tmp_path / "odd.graph.json"
    path.write_text(json.dumps(data))
    w = open_window(qtbot, tmp_path)
    messages = []
    w.document.message.connect(messages.append)
    assert w.files.open(path, ask=False)
    QApplication.processEvents()
    w.view.fit_all()
    assert not w.grab().isNull()
    assert {i.node_id for i in w.scene.node_items()} == set(data_node_ids(data))
    assert any("ignored unusable display settings: node d ui.pos" in m for m in messages)
    assert "pos" not in w.document.graph.nodes["c1"].ui
    assert w.document.graph.nodes["ce"].ui == {"pos": [40, 40], "note": "kept"}
    assert "color" not in w.document.graph.groups[0].ui
    assert w.files._save_to(tmp_path / "saved.graph.json")


def data_node_ids(data: dict) -> list[str]:
    return [n["id"] for n in data["nodes"]]


def test_a_missing_data_file_shows_in_the_problems_list_naming_the_node(qtbot, tmp_path):
    g = make({"t": ("data.tensors", {"path": "absent.npz"}), "fc": "layer.linear"},
             ["t.x -> fc.in"])
    g.base_dir = tmp_path
    w = open_window(qtbot, tmp_path, g)
    rows = [(w.diagnostics.tree.topLevelItem(i).text(0), w.diagnostics.tree.topLevelItem(i)
             .text(1)) for i in range(w.diagnostics.tree.topLevelItemCount())]
    assert any(where == "t.path" and "absent.npz' does not exist" in text
               for where, text in rows), rows


def test_a_batch_larger_than_its_data_is_a_warning_in_the_problems_list(qtbot, tmp_path):
    x = np.zeros((20, 4), np.float32)
    np.savez(tmp_path / "small.npz", x=x, y=np.arange(20) % 2)
    g = make({"t": ("data.tensors", {"path": "small.npz"}), "fc": "layer.linear"},
             ["t.x -> fc.in"])
    g.base_dir = tmp_path
    w = open_window(qtbot, tmp_path, g)
    texts = [w.diagnostics.tree.topLevelItem(i).text(1)
             for i in range(w.diagnostics.tree.topLevelItemCount())]
    assert any(t.startswith("batch_size 64 is more than the 16 samples") for t in texts), texts


def test_weights_holding_python_objects_are_refused_in_the_window(window, tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never print",))

    torch.save({"c1.weight": Payload()}, tmp_path / "evil.pt")
    panel = window.training_panel
    assert panel.results.load_weights(tmp_path / "evil.pt") is False
    assert "holds Python objects besides tensors; they are not loaded" in panel.message.text()
    assert window.isVisible() and not window.document.read_only



def test_mutated_graph_files_open_select_and_inspect_without_an_error(window):
    """Files edited by hand into odd states (the fuzz test's mutations) all open in the window;
    none makes a slot raise."""
    from test_fuzz import mutate, seeds

    w, rng, originals, opened = window, random.Random(11), seeds(), 0
    errors = []
    w.report_exception = lambda kind, e, tb: errors.append(f"{kind.__name__}: {e}")
    while opened < 40:
        try:
            graph = fileformat.from_dict(mutate(rng.choice(originals), rng))
        except GraphFormatError:
            continue
        opened += 1
        w.document.replace_graph(graph)
        w.document.analyse_now()
        w.scene.select_nodes(list(graph.nodes)[:2])
        QApplication.processEvents()
    assert errors == []


def test_an_error_while_closing_keeps_the_window_and_its_unsaved_changes(window, monkeypatch,
                                                                         qtbot):
    w = window
    w.document.set_label("c1", "unsaved")

    def broken():
        raise OSError("settings folder vanished")

    monkeypatch.setattr(w.files, "maybe_save", broken)
    QTimer.singleShot(0, w.close)  # as the window manager's close button does
    qtbot.waitUntil(lambda: bool(w.boxes))
    assert "settings folder vanished" in w.boxes[0]
    assert w.isVisible() and w.document.dirty
    monkeypatch.undo()
