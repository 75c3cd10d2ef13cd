"""Nothing lost: autosave while there are unsaved changes, recovery after a killed application,
and saves that fail half way leave the old file and the open document as they were."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from composer import fileformat
from composer.fileformat import atomic_write
from composer.graph import Graph
from gui import app as gui_app
from gui import autosave as recovery
from gui.autosave import Autosave, offer_recovery, orphans
from tests.graph_builder import classifier
from tests.gui_helpers import open_window
from tests.gui_session import LABEL, NAME

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rec_dir(tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    monkeypatch.setenv(recovery.ENV_DIR, str(folder))
    return folder


@pytest.fixture
def saved_file(tmp_path):
    path = tmp_path / "model.graph.json"
    fileformat.save(classifier(), path)
    return path


def recovery_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{recovery.SUFFIX}"))


def test_the_recovery_folder_comes_from_the_environment_or_the_user_data_folder(
        rec_dir, monkeypatch):
    assert recovery.recovery_dir() == rec_dir
    monkeypatch.delenv(recovery.ENV_DIR)
    assert recovery.recovery_dir().name == "recovery"


def test_autosave_waits_for_edits_to_pause_and_writes_once(qtbot, tmp_path, rec_dir,
                                                           saved_file):
    w = open_window(qtbot, tmp_path)
    w.files.open(saved_file, ask=False)
    w.document.analyse_now()
    auto = Autosave(w.document, rec_dir, delay_ms=60_000)
    writes = []
    auto.saved.connect(writes.append)
    for i in range(3):
        w.document.set_label("c1", f"label {i}")
        qtbot.wait(20)
    # Still editing: nothing written, and the wait starts again from the last edit.
    assert writes == [] and auto.pending() and auto.timer.remainingTime() > 55_000
    auto.timer.start(50)  # the pause, shortened
    qtbot.waitUntil(lambda: len(writes) == 1, timeout=5000)
    qtbot.wait(200)
    assert len(writes) == 1
    record = json.loads(auto.file.read_text())
    assert record["graph"]["nodes"][1]["label"] == "label 2"
    assert record["path"] == str(saved_file.resolve())


def test_edits_that_never_pause_are_still_autosaved(qtbot, tmp_path, rec_dir, monkeypatch):
    w = open_window(qtbot, tmp_path, classifier())
    auto = Autosave(w.document, rec_dir, delay_ms=60_000)
    w.document.set_label("c1", "first")
    monkeypatch.setattr(recovery, "MAX_WAIT_S", 0.0)  # as if editing had gone on that long
    auto.timer.start(300)
    w.document.set_label("c1", "second")
    assert auto.timer.remainingTime() < 30_000  # not pushed back to a full minute
    qtbot.waitUntil(auto.file.exists, timeout=5000)


def test_saving_or_undoing_to_the_saved_state_removes_the_recovery_file(qtbot, tmp_path,
                                                                        rec_dir, saved_file):
    w = open_window(qtbot, tmp_path)
    w.files.open(saved_file, ask=False)
    auto = Autosave(w.document, rec_dir, delay_ms=50)
    w.document.set_label("c1", "edited")
    qtbot.waitUntil(auto.file.exists, timeout=3000)
    w.document.undo_stack.undo()
    assert not auto.file.exists()  # back to what is on disk: nothing to recover
    w.document.undo_stack.redo()
    qtbot.waitUntil(auto.file.exists, timeout=3000)
    assert w.files.save()
    assert not auto.file.exists() and not auto.pending()


def test_a_clean_graph_is_never_autosaved(qtbot, tmp_path, rec_dir, saved_file):
    w = open_window(qtbot, tmp_path)
    w.files.open(saved_file, ask=False)
    auto = Autosave(w.document, rec_dir, delay_ms=10)
    assert auto.save_now() is False
    assert recovery_files(rec_dir) == []


def test_a_normal_exit_leaves_no_recovery_file_and_no_lock(qtbot, tmp_path, rec_dir):
    w = open_window(qtbot, tmp_path, classifier())
    auto = Autosave(w.document, rec_dir)
    w.document.set_label("c1", "unsaved")
    assert auto.save_now()
    auto.close()
    assert list(rec_dir.iterdir()) == []


def test_a_running_applications_file_is_not_offered_to_another(qtbot, tmp_path, rec_dir):
    w = open_window(qtbot, tmp_path, classifier())
    auto = Autosave(w.document, rec_dir)
    w.document.set_label("c1", "mine")
    assert auto.save_now()
    assert orphans(rec_dir) == []  # its lock is held by a live process


def _kill_during_session(file: Path, rec_dir: Path, home: Path) -> str:
    """Starts the application on FILE in a process of its own, lets it edit, waits for the
    autosave, and kills it with SIGKILL. Returns the id of the node it added."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COMPOSER_RECOVERY_DIR=str(rec_dir),
               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "gui_session.py"), str(file)],
                            env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("edited "), proc.stderr.read() if proc.poll() is not None else line
        deadline = time.monotonic() + 30
        while not recovery_files(rec_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recovery_files(rec_dir), "no autosave within 30 s of the edits"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return line.split()[1]


def test_after_the_application_is_killed_the_next_start_restores_the_edits(
        qtbot, tmp_path, rec_dir, saved_file, monkeypatch):
    node_id = _kill_during_session(saved_file, rec_dir, tmp_path)
    (left,) = recovery_files(rec_dir)
    assert fileformat.load(saved_file) == classifier()  # the file itself was never touched

    offered = []
    monkeypatch.setattr(recovery, "ask_restore",
                        lambda parent, r: offered.append(r.describe()) or "restore")
    w = open_window(qtbot, tmp_path)
    auto = Autosave(w.document, rec_dir)
    gui_app._first_graph(w, str(saved_file), auto)  # what the next start does
    assert len(offered) == 1 and saved_file.name in offered[0]
    doc = w.document
    assert doc.graph.nodes[node_id].label == LABEL and doc.graph.name == NAME
    assert doc.dirty and doc.path == saved_file.resolve()
    assert w.windowTitle().startswith(f"{saved_file.name}*")
    assert not left.exists() and auto.file.exists()  # now kept under this session's name
    assert w.files.save()
    assert fileformat.load(saved_file).nodes[node_id].label == LABEL
    assert not auto.file.exists()


def test_discard_deletes_the_recovery_and_not_now_keeps_it(qtbot, tmp_path, rec_dir,
                                                           saved_file):
    def left_by_a_dead_session(label: str) -> Autosave:
        w = open_window(qtbot, tmp_path)
        w.files.open(saved_file, ask=False)
        auto = Autosave(w.document, rec_dir)
        w.document.set_label("c1", label)
        assert auto.save_now()
        auto._lock.unlock()  # as if its process had died
        return auto

    left = left_by_a_dead_session("kept for later").file
    w = open_window(qtbot, tmp_path)
    auto = Autosave(w.document, rec_dir)
    assert not offer_recovery(w, auto, ask=lambda parent, r: "later")
    assert left.exists() and not w.document.dirty
    assert not offer_recovery(w, auto, ask=lambda parent, r: "discard")
    assert not left.exists() and recovery_files(rec_dir) == []


def test_an_unreadable_recovery_file_is_set_aside_and_the_user_told(qtbot, tmp_path, rec_dir,
                                                                    monkeypatch):
    rec_dir.mkdir()
    (rec_dir / f"session-1{recovery.SUFFIX}").write_text('{"format": "composer-recovery", '
                                                         '"graph": {"format": "nope"}}')
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warned.append(a[2]))
    w = open_window(qtbot, tmp_path, classifier())
    auto = Autosave(w.document, rec_dir)
    assert not offer_recovery(w, auto, ask=lambda *a: pytest.fail("nothing to offer"))
    assert warned and "could not be read" in warned[0] and ".unreadable" in warned[0]
    assert recovery_files(rec_dir) == [] and len(list(rec_dir.glob("*.unreadable"))) == 1


def test_an_unsaved_untitled_graph_is_restored_without_a_path(qtbot, tmp_path, rec_dir):
    w = open_window(qtbot, tmp_path, Graph("untitled work"))
    auto = Autosave(w.document, rec_dir)
    w.document.add_node("data.digits", (0, 0))
    assert auto.save_now()
    auto._lock.unlock()
    w2 = open_window(qtbot, tmp_path)
    assert offer_recovery(w2, Autosave(w2.document, rec_dir), ask=lambda *a: "restore")
    assert w2.document.path is None and w2.document.dirty
    assert w2.document.graph.name == "untitled work"
    assert [n.type for n in w2.document.graph.nodes.values()] == ["data.digits"]


def test_a_failing_autosave_is_reported_once_and_the_document_stays(qtbot, tmp_path, rec_dir,
                                                                    monkeypatch):
    w = open_window(qtbot, tmp_path, classifier())
    auto = Autosave(w.document, rec_dir)
    auto.failed.connect(w.show_message)

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_write, "write_text_atomic", full_disk)
    w.document.set_label("c1", "unsaved")
    assert not auto.save_now()
    assert "Autosave failed" in w.statusBar().currentMessage()
    reports = []
    auto.failed.connect(reports.append)
    assert not auto.save_now() and reports == []  # said once, not at every edit
    assert w.document.dirty and w.document.graph.nodes["c1"].label == "unsaved"


def test_a_save_that_fails_half_way_keeps_the_old_file_and_the_document(
        qtbot, tmp_path, saved_file, monkeypatch):
    w = open_window(qtbot, tmp_path)
    w.files.open(saved_file, ask=False)
    before = saved_file.read_bytes()
    w.document.set_label("c1", "not yet on disk")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: shown.append(a[2]))
    real_replace = os.replace

    def interrupted(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", interrupted)
    assert w.files.save() is False
    assert shown and str(saved_file) in shown[0] and "Input/output error" in shown[0]
    assert saved_file.read_bytes() == before
    assert [p.name for p in saved_file.parent.glob(".model.graph.json*")] == []
    assert w.document.dirty and w.windowTitle().startswith("model.graph.json*")
    assert w.document.graph.nodes["c1"].label == "not yet on disk"
    monkeypatch.setattr(os, "replace", real_replace)
    assert w.files.save()
    assert fileformat.load(saved_file).nodes["c1"].label == "not yet on disk"


def test_a_save_that_cannot_serialise_the_graph_is_reported_and_the_file_kept(
        qtbot, tmp_path, saved_file, monkeypatch):
    w = open_window(qtbot, tmp_path)
    w.files.open(saved_file, ask=False)
    before = saved_file.read_bytes()
    w.document.graph.ui["oops"] = object()  # what a bug elsewhere might leave behind
    w.document.set_label("c1", "edited")
    shown = []
    monkeypatch.setattr(QMessageBox, "show", lambda box: shown.append(box.text()))
    w.actions["save"].trigger()
    assert shown and "object" in shown[0]
    assert saved_file.read_bytes() == before and w.document.dirty


def test_saving_keeps_the_files_permissions_and_writes_through_a_link(tmp_path):
    target = tmp_path / "real.graph.json"
    fileformat.save(classifier(), target)
    os.chmod(target, 0o640)
    link = tmp_path / "link.graph.json"
    link.symlink_to(target)
    fileformat.save(Graph("changed"), link)
    assert link.is_symlink() and fileformat.load(target).name == "changed"
    assert target.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.graph.json"
    fileformat.save(Graph(), fresh)
    mask = os.umask(0)
    os.umask(mask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~mask
