"""The Code tab: the Python `composer export` writes for the graph as edited, highlighted,
read-only and copyable; the graph's errors instead when it has some."""

from __future__ import annotations

import pytest
from gui_helpers import open_window
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit

import composer
from gui.code_view import DEBOUNCE_MS, PythonHighlighter, code_key
from tests.graph_builder import classifier


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, classifier())
    w.code_dock.show()
    w.code_dock.raise_()
    qtbot.waitUntil(lambda: "class Model" in w.code_view.code, timeout=30_000)
    return w


def test_the_code_tab_shows_the_exported_python_with_the_node_ids(window):
    view = window.code_view
    assert view.code == composer.export_python(window.document.graph)
    for node_id in ("c1", "fc", "ce"):
        assert node_id in view.code
    assert view.editor.isReadOnly()
    assert view.editor.font().fixedPitch()


def test_the_code_follows_an_edit_after_a_pause(qtbot, window):
    view = window.code_view
    assert "nn.Linear(128, 10)" in view.code
    window.document.set_param("fc", "out_features", 12)
    assert "nn.Linear(128, 12)" not in view.code  # not on every keystroke: after a pause
    qtbot.waitUntil(lambda: "nn.Linear(128, 12)" in view.code, timeout=DEBOUNCE_MS + 10_000)
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: "nn.Linear(128, 10)" in view.code, timeout=DEBOUNCE_MS + 10_000)


def test_moving_a_node_does_not_regenerate_the_code(window, monkeypatch):
    view = window.code_view
    calls = []
    monkeypatch.setattr("composer.generate.program.export_python",
                        lambda g: calls.append(g) or "")
    window.document.move_nodes({"c1": (500.0, 500.0)})
    view.refresh()
    assert calls == []


def test_a_graph_with_errors_shows_its_problems_instead_of_code(qtbot, window):
    view = window.code_view
    edge = next(e for e in window.document.graph.edges if e.dst == "ce" and e.dst_port == "pred")
    window.document.disconnect(edge)
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.problems, timeout=10_000)
    assert "ce" in view.problems.toPlainText() and "pred" in view.problems.toPlainText()
    assert view.code == ""
    assert "error" in view.summary.text()


def test_copy_all_puts_the_whole_file_on_the_clipboard(window):
    window.code_view.copy_all()
    assert QGuiApplication.clipboard().text() == window.code_view.code


def test_code_that_only_moved_keeps_its_key_and_a_parameter_changes_it():
    g = classifier()
    key = code_key(g)
    g.nodes["c1"].ui["pos"] = [1, 2]
    assert code_key(g) == key
    g.nodes["c1"].params["out_channels"] = 4
    assert code_key(g) != key


def formats_at(doc: QTextDocument, line: int) -> dict[str, str]:
    """Each highlighted token on a line, by its text, with its colour."""
    block = doc.findBlockByNumber(line)
    text = block.text()
    return {text[r.start:r.start + r.length]: r.format.foreground().color().name()
            for r in block.layout().formats()}


def test_the_highlighter_colours_keywords_strings_comments_and_numbers(qapp):
    area = QPlainTextEdit()  # a laid-out document, as in the tab
    doc = area.document()
    highlighter = PythonHighlighter(doc)
    highlighter.set_dark(False)
    doc.setPlainText('def f(x):  # note\n    return "if" + 1.5\n"""doc\nstill doc"""\nx = 2\n')
    colors = {k: f.foreground().color().name() for k, f in highlighter.formats.items()}
    first, second = formats_at(doc, 0), formats_at(doc, 1)
    assert first["def"] == colors["keyword"] and first["f"] == colors["definition"]
    assert first["# note"] == colors["comment"]
    assert second["return"] == colors["keyword"] and second['"if"'] == colors["string"]
    assert "if" not in second  # a keyword inside a string stays a string
    assert second["1.5"] == colors["number"]
    assert formats_at(doc, 3)['still doc"""'] == colors["string"]  # across lines
    assert formats_at(doc, 4)["2"] == colors["number"]  # and back to code after it
