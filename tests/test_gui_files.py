"""Files in the window: save and reopen, samples, unsaved-changes prompts, recent files,
export, and the headless screenshot command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

import composer
from composer import fileformat
from gui.gallery import SAMPLES_DIR, SampleGallery, list_samples
from tests.graph_builder import classifier
from tests.gui_helpers import open_window

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = sorted(SAMPLES_DIR.glob("*.graph.json"))
Button = QMessageBox.StandardButton


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, classifier())


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "clf.graph.json"
    fileformat.save(classifier(), path)
    return path


def answer(monkeypatch, button) -> list[str]:
    """Answers the unsaved-changes prompt with `button`; returns the questions asked."""
    asked = []

    def warning(parent, title, text, buttons, default):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return asked


def save_dialog(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def test_save_as_then_reopen_gives_an_equal_graph(window, monkeypatch, tmp_path):
    w = window
    w.document.set_param("c1", "kernel_size", 5)
    w.document.set_label("fc", "head")
    save_dialog(monkeypatch, tmp_path / "edited")
    w.actions["save"].trigger()
    path = tmp_path / "edited.graph.json"
    assert path.exists() and w.document.path == path.resolve()
    assert "*" not in w.windowTitle() and "edited.graph.json" in w.windowTitle()
    edited = w.document.graph.to_dict()
    w.files.new()
    assert w.files.open(path)
    assert w.document.graph.to_dict() == edited
    assert fileformat.load(path).to_dict() == edited


def test_the_title_shows_a_star_while_there_are_unsaved_changes(window, saved):
    w = window
    w.files.open(saved)
    assert w.windowTitle().startswith("clf.graph.json \u2014")
    w.document.set_param("c1", "stride", 2)
    assert w.windowTitle().startswith("clf.graph.json*")
    w.document.undo_stack.undo()  # back to what is on disk
    assert "*" not in w.windowTitle()
    w.document.undo_stack.redo()
    w.actions["save"].trigger()
    assert "*" not in w.windowTitle()
    assert fileformat.load(saved).nodes["c1"].params["stride"] == 2


def test_new_asks_before_losing_changes_and_cancel_keeps_them(window, monkeypatch):
    w = window
    w.document.set_param("c1", "stride", 2)
    asked = answer(monkeypatch, Button.Cancel)
    w.actions["new"].trigger()
    assert len(asked) == 1 and "unsaved changes" in asked[0]
    assert "c1" in w.document.graph.nodes and w.document.dirty
    answer(monkeypatch, Button.Discard)
    w.actions["new"].trigger()
    assert w.document.graph.nodes == {} and not w.document.dirty


def test_save_in_the_prompt_saves_before_opening_another_file(window, monkeypatch, saved,
                                                             tmp_path):
    w = window
    w.document.set_param("c1", "stride", 2)
    answer(monkeypatch, Button.Save)
    save_dialog(monkeypatch, tmp_path / "kept.graph.json")
    assert w.files.open(saved)
    assert fileformat.load(tmp_path / "kept.graph.json").nodes["c1"].params["stride"] == 2
    assert w.document.path == saved.resolve()


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(window, monkeypatch):
    w = window
    w.document.set_param("c1", "stride", 2)
    asked = answer(monkeypatch, Button.Cancel)
    assert not w.close()
    assert w.isVisible() and asked
    answer(monkeypatch, Button.Discard)
    assert w.close()


def test_a_clean_graph_closes_and_opens_without_a_question(window, monkeypatch, saved):
    asked = answer(monkeypatch, Button.Cancel)
    assert window.files.open(saved)
    assert asked == []


def test_a_broken_file_is_refused_naming_the_place_and_the_graph_stays(window, monkeypatch,
                                                                       tmp_path):
    bad = tmp_path / "bad.graph.json"
    bad.write_text('{"format": "composer-graph", "version": 1, "nodes": [{"id": "a"}]}')
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda p, t, text: shown.append(text))
    before = window.document.graph.to_dict()
    assert not window.files.open(bad)
    assert "nodes[0]" in shown[0] and "type" in shown[0]
    assert window.document.graph.to_dict() == before


def test_recent_files_list_the_newest_first_and_reopen_from_the_menu(window, tmp_path):
    w = window
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.graph.json"
        fileformat.save(classifier(), path)
        w.files.open(path)
        paths.append(str(path.resolve()))
    assert w.files.recent() == paths[::-1]
    w.recent_menu.aboutToShow.emit()
    entries = [a for a in w.recent_menu.actions() if a.data()]
    assert [a.data() for a in entries] == paths[::-1]
    entries[1].trigger()
    assert str(w.document.path) == paths[0]
    assert w.files.recent()[0] == paths[0]


def test_recent_files_survive_a_new_window(qtbot, tmp_path, saved):
    first = open_window(qtbot, tmp_path)
    first.files.open(saved)
    second = open_window(qtbot, tmp_path)
    assert second.files.recent() == [str(saved.resolve())]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_opens_in_the_window_without_error_diagnostics(window, path):
    assert window.files.open(path)
    window.document.analyse_now()
    errors = [str(d) for d in window.document.diagnostics if d.is_error]
    assert errors == []
    assert len(window.scene.node_items()) == len(window.document.graph.nodes)


def test_the_gallery_lists_every_sample_with_its_name_and_opens_the_chosen_one(
        window, monkeypatch):
    samples = list_samples()
    assert [s.path for s in samples] == SAMPLE_FILES
    assert all(s.name and s.description for s in samples)
    chosen = samples[-1].path

    def choose(gallery: SampleGallery) -> int:
        gallery.list.setCurrentRow(len(samples) - 1)
        gallery.accept()
        return 1

    monkeypatch.setattr(SampleGallery, "exec", choose)
    window.actions["open_sample"].trigger()
    assert window.document.path == chosen.resolve()


def test_export_writes_the_generated_script(window, monkeypatch, tmp_path):
    monkeypatch.setattr(composer, "export_python", lambda g: f"# {len(g.nodes)} nodes\n",
                        raising=False)
    save_dialog(monkeypatch, tmp_path / "model.py")
    window.actions["export"].trigger()
    assert (tmp_path / "model.py").read_text() == "# 7 nodes\n"


def test_export_says_where_the_script_will_read_its_data(window, monkeypatch, tmp_path):
    graph = ROOT / "tests" / "graphs" / "tensors_adamw_adam.graph.json"  # reads data/*
    assert window.files.open(graph)
    said = []
    window.document.message.connect(said.append)
    save_dialog(monkeypatch, tmp_path / "model.py")
    window.actions["export"].trigger()
    assert (tmp_path / "model.py").is_file()
    assert said[-1] == (f"exported {tmp_path / 'model.py'}; it reads data/vectors.npz, "
                        f"data/maps.pt relative to its own folder ({tmp_path}): copy them "
                        f"there, or run it with --data-dir {graph.parent}")


def test_export_without_an_exporter_says_so(window, monkeypatch, tmp_path):
    monkeypatch.delattr(composer, "export_python", raising=False)
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda p, t, text: said.append(text))
    window.actions["export"].trigger()
    assert "not available" in said[0]


def test_the_screenshot_command_saves_a_picture_of_the_window(tmp_path):
    sample = SAMPLE_FILES[0] if SAMPLE_FILES else None
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    args = [sys.executable, "-m", "gui", *([str(sample)] if sample else []),
            "--screenshot", str(out)]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)


def test_the_screenshot_command_fails_clearly_on_a_broken_file(tmp_path):
    bad = tmp_path / "bad.graph.json"
    bad.write_text("{")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "gui", str(bad), "--screenshot",
                             str(tmp_path / "x.png")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr
