"""Training in another process from the window (the Processes setting): the curves draw the
process's events, Pause holds it and Resume continues, Stop ends it with its checkpoint,
closing the window leaves no process behind, and a failure or a killed process ends the run
with a message. One process is forced onto the subprocess path (COMPOSER_SUBPROCESS=1)."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from composed_graphs import SINGLE_THREAD_ENV, graph, multitask
from gui_helpers import click, open_window
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

import composer
from composer.graph import Group
from composer.runs import load_run
from gui.process_worker import SUBPROCESS_ENV, ProcessWorker, train_command

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")]


@pytest.fixture(autouse=True)
def _subprocess_runs(monkeypatch, tmp_path):
    monkeypatch.setenv(SUBPROCESS_ENV, "1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # unsaved graphs' run folders
    for name, value in SINGLE_THREAD_ENV.items():
        monkeypatch.setenv(name, value)


def small_graph():
    g = multitask()
    g.training.steps_per_epoch = 10
    return g


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, small_graph())
    yield w
    w.training_panel.shutdown()


def press(window, name: str) -> None:
    click(window.training_panel.findChild(object, f"button_{name}"))


def set_steps(window, steps: int) -> None:
    """Types the step count into the Steps box, as a user does."""
    box = window.training_panel.steps
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, str(steps))
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == steps


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group (zombies included: they are not gone)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def state_of(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def start_run(qtbot, window, steps: int, until_step: int = 1) -> ProcessWorker:
    set_steps(window, steps)
    press(window, "start")
    panel = window.training_panel
    assert isinstance(panel.worker, ProcessWorker)
    qtbot.waitUntil(lambda: panel.worker.steps_done >= until_step, timeout=60_000)
    return panel.worker


def wait_idle(qtbot, panel, timeout=60_000):
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=timeout)


def test_the_command_line_names_the_processes_the_run_folder_and_the_panel_settings():
    command = train_command(Path("g.json"), Path("out"), 4, Path("data"), epochs=3, steps=None,
                            device="cpu")
    assert command[1:] == ["-m", "composer", "train", "g.json", "--nproc", "4", "--events",
                           "-", "--out", "out", "--data-dir", "data", "--epochs", "3",
                           "--device", "cpu"]
    assert "--nproc" not in train_command(Path("g.json"), Path("out"), 1)
    assert train_command(Path("g.json"), Path("out"), 2, tensorboard="out/tb")[-2:] == [
        "--tensorboard", "out/tb"]


def test_the_curves_draw_the_processes_events_the_numbers_of_an_in_process_run(qtbot,
                                                                                 window):
    from gui.training.preview_runs import OTHER_PROCESSES
    from gui.watching import set_watched

    panel = window.training_panel
    set_watched(window.document, "b3.out", True)  # the reconstructions, previewed each epoch
    set_steps(window, 12)
    press(window, "start")
    click(panel.previews.now_button)  # the run is under way from the moment it is started
    assert panel.previews.message.text() == OTHER_PROCESSES
    worker = panel.worker
    assert isinstance(worker, ProcessWorker)
    wait_idle(qtbot, panel)
    assert panel.error is None and not window.document.read_only
    previews: list[dict] = []
    expected = composer.train(small_graph(), steps=12, watch=["b3.out"],
                              callback=lambda e: previews.append(e) if e["kind"] == "preview"
                              else None).history
    losses = [r["loss"] for r in expected if "loss" in r]
    for name in ("ce", "mse"):
        assert list(panel.curves.items[("loss", name)].yData) == [x[name] for x in losses]
    assert panel.curves.point_count("val", "ce") == 2
    drawn = panel.previews.records  # decoded from the process's JSON lines
    assert [r["step"] for r in drawn] == [p["step"] for p in previews] and len(drawn) == 2
    for r, p in zip(drawn, previews, strict=True):  # eval-mode kernels may round otherwise
        assert r["outputs"]["b3.out"] == pytest.approx(p["outputs"]["b3.out"], rel=1e-5,
                                                       abs=1e-6)
    assert panel.eta.text() == "Finished after 12 steps"
    assert panel.results.model is not None and panel.results.table.rowCount() == 3
    assert (worker.run_dir / "checkpoint.pt").is_file()
    assert group_members(worker.pid) == []
    record = load_run(worker.run_dir).record  # recorded as composer train records a run
    assert (record.status, record.steps, record.graph_file) == ("finished", 12, None)
    assert panel.runs_view.runs[0].id == record.id  # and listed for the session
    # The confusion matrix, computed here from the checkpoint, agrees with the process's
    # own last validation.
    matrix = panel.results.confusion.matrix
    counts = [[matrix.count(t, p) for p in range(10)] for t in range(10)]
    right = sum(counts[i][i] for i in range(10)) / sum(map(sum, counts))
    assert panel.results.table.cell_text(0, 3) == f"{100 * right:.1f} %"


def test_pause_holds_the_process_resume_continues_and_stop_keeps_a_checkpoint(qtbot, window):
    import torch

    panel = window.training_panel
    worker = start_run(qtbot, window, 100_000, until_step=2)
    press(window, "pause")
    qtbot.waitUntil(lambda: state_of(worker.pid) == "T", timeout=5_000)
    time.sleep(0.3)
    panel.drain()
    held = panel.history.steps_done
    time.sleep(1.0)
    panel.drain()
    assert panel.state == "paused" and panel.history.steps_done == held
    press(window, "pause")  # now reads Resume
    assert panel.state == "running"
    qtbot.waitUntil(lambda: worker.steps_done > held + 2, timeout=30_000)
    press(window, "stop")
    wait_idle(qtbot, panel)
    steps = panel.history.steps_done
    assert panel.error is None and panel.eta.text() == f"Stopped after {steps} steps"
    saved = torch.load(worker.run_dir / "checkpoint.pt", weights_only=False)
    assert saved["step"] == steps
    assert panel.results.model is not None
    assert group_members(worker.pid) == []


def test_closing_the_window_during_a_paused_run_leaves_no_process(qtbot, window):
    worker = start_run(qtbot, window, 100_000)
    pid = worker.pid
    press(window, "pause")
    qtbot.waitUntil(lambda: state_of(pid) == "T", timeout=5_000)
    window.close()
    assert not window.isVisible()
    assert group_members(pid) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (worker.run_dir / "checkpoint.pt").is_file()  # it stopped as on Stop


def test_a_failing_process_shows_its_message_and_selects_the_node(qtbot, tmp_path):
    g = graph({"d": "data.digits", "f": "layer.flatten",
               "fc": ("layer.linear", {"out_features": 64}),
               "r": ("layer.reshape", {"shape": [1, 8, 8]}), "rec": "loss.mse"},
              ["d.x -> f.in", "f.out -> fc.in", "fc.out -> r.in", "r.out -> rec.pred",
               "d.x -> rec.target"],
              [Group("g", ["fc"], ["rec"], {"type": "sgd", "lr": 10.0})], steps_per_epoch=10)
    window = open_window(qtbot, tmp_path, g)
    panel = window.training_panel
    set_steps(window, 500)
    press(window, "start")
    wait_idle(qtbot, panel)
    assert isinstance(panel.error, composer.TrainingError)
    assert panel.error.node == "rec" and "is inf" in panel.message.text()
    assert f"step {panel.error.step}" in panel.message.text()
    assert window.scene.selected_node_ids() == ["rec"]
    assert panel.failure_box.isVisible()
    panel.failure_box.close()
    assert not window.document.read_only


def test_a_killed_training_process_ends_the_run_with_a_message(qtbot, window):
    panel = window.training_panel
    worker = start_run(qtbot, window, 100_000)
    killed = time.monotonic()
    os.kill(worker.pid, signal.SIGKILL)
    wait_idle(qtbot, panel, timeout=30_000)
    assert time.monotonic() - killed < 30
    assert "ended by SIGKILL" in panel.message.text()
    assert not window.document.read_only and panel.actions["start"].isEnabled()
    record = load_run(worker.run_dir).record
    assert record.status == "failed" and "ended by SIGKILL" in record.error["message"]


def test_the_processes_setting_is_kept_in_the_applications_settings(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    box = window.training_panel.processes
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == min(2, box.maximum())
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert int(settings.value("training/processes")) == box.value()
    assert open_window(qtbot, tmp_path).training_panel.processes.value() == box.value()


def test_two_processes_draw_the_curves_of_one(qtbot, window, monkeypatch):
    monkeypatch.delenv(SUBPROCESS_ENV)  # two processes take the subprocess path by themselves
    panel = window.training_panel
    box = panel.processes
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == 2
    worker = start_run(qtbot, window, 12)
    assert worker._proc.args[worker._proc.args.index("--nproc") + 1] == "2"
    wait_idle(qtbot, panel, timeout=120_000)
    assert panel.error is None
    expected = [r["loss"] for r in composer.train(small_graph(), steps=12).history if "loss" in r]
    for name in ("ce", "mse"):
        drawn = list(panel.curves.items[("loss", name)].yData)
        assert drawn == pytest.approx([x[name] for x in expected], rel=1e-5)
    assert group_members(worker.pid) == []


def test_killing_one_of_two_processes_ends_the_run_with_its_message_and_no_orphans(
        qtbot, window, monkeypatch):
    monkeypatch.delenv(SUBPROCESS_ENV)
    panel = window.training_panel
    box = panel.processes
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_Up)
    worker = start_run(qtbot, window, 100_000)
    ranks = [worker.run_dir / "processes" / f"rank{r}.pid" for r in (0, 1)]
    qtbot.waitUntil(lambda: all(p.is_file() and p.stat().st_size for p in ranks),
                    timeout=60_000)
    pids = [json.loads(p.read_text())["pid"] for p in ranks]
    killed = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    wait_idle(qtbot, panel, timeout=30_000)
    assert time.monotonic() - killed < 30
    assert "rank 1" in panel.message.text(), panel.message.text()
    assert not window.document.read_only and panel.actions["start"].isEnabled()
    assert group_members(worker.pid) == []
    for pid in pids:
        assert pid not in group_members(worker.pid)
        assert not Path(f"/proc/{pid}").exists() or state_of(pid) == "Z"
