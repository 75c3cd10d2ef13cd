"""Training from the window: curves fill from the worker thread, pause holds, stop ends and
keeps the weights, a diverging run stops naming its loss node and leaves the window working,
the event loop keeps answering, weights save, load (or are refused) and evaluate; and the
schedule's phases behind the curves."""

from __future__ import annotations

import time

import pytest
from composed_graphs import graph, multitask
from gui_helpers import open_window
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import composer
from composer.graph import Group
from composer.runtime.schedules import Schedule
from composer.schedules import group_spans, warmup_end
from composer.schedules import phases as schedule_phases
from gui.training.weights import mismatch

pytestmark = pytest.mark.slow


def small_graph():
    """Digits -> trunk -> classifier and weighted reconstruction; 10 steps an epoch."""
    g = multitask()
    g.training.steps_per_epoch = 10
    return g


def diverging_graph():
    """A linear reconstruction under plain SGD at lr 10: its loss grows until it is inf."""
    return graph({"d": "data.digits", "f": "layer.flatten",
                  "fc": ("layer.linear", {"out_features": 64}),
                  "r": ("layer.reshape", {"shape": [1, 8, 8]}), "rec": "loss.mse"},
                 ["d.x -> f.in", "f.out -> fc.in", "fc.out -> r.in", "r.out -> rec.pred",
                  "d.x -> rec.target"],
                 [Group("g", ["fc"], ["rec"], {"type": "sgd", "lr": 10.0})], steps_per_epoch=10)


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, small_graph())
    yield w
    w.training_panel.shutdown()


def wait_idle(qtbot, panel, timeout=60_000):
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=timeout)


def wait_steps(qtbot, panel, n, timeout=60_000):
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done >= n,
                    timeout=timeout)


def test_a_run_fills_the_curves_and_the_results_and_leaves_the_graph_as_it_was(qtbot, window):
    panel = window.training_panel
    before = window.document.graph.to_dict()
    assert panel.start(steps=30)
    assert window.document.read_only
    assert window.document.add_node("layer.relu", (0, 0)) is None  # refused while training
    wait_idle(qtbot, panel)
    assert panel.error is None and not window.document.read_only
    curves = panel.curves
    assert curves.point_count("loss", "ce") == 30 and curves.point_count("loss", "mse") == 30
    assert curves.point_count("group_loss", "joint") == 30  # two losses: a total of its own
    assert curves.point_count("lr", "joint") == 30
    assert curves.point_count("val", "ce") == 3 and curves.point_count("accuracy", "ce") == 3
    assert window.document.graph.to_dict() == before
    rows = {panel.results.table.cell_text(r, 0): r for r in range(panel.results.table.rowCount())}
    assert set(rows) == {"ce", "mse", "group joint (weighted total)"}
    accuracy = panel.results.table.cell_text(rows["ce"], 3)
    assert accuracy.endswith("%") and 0 <= float(accuracy[:-1]) <= 100
    assert panel.progress.value() == panel.progress.maximum()


def test_pause_holds_the_step_count_still_and_resume_continues(qtbot, window):
    panel = window.training_panel
    panel.start(steps=100_000)
    wait_steps(qtbot, panel, 3)
    panel.toggle_pause()
    assert panel.state == "paused"
    qtbot.wait(200)  # the step under way when the pause came ends
    held = panel.worker.steps_done
    qtbot.wait(1000)
    assert panel.worker.steps_done == held
    panel.toggle_pause()
    wait_steps(qtbot, panel, held + 3, timeout=20_000)
    panel.stop()
    wait_idle(qtbot, panel)
    assert panel.error is None and panel.results.model is not None


def test_stop_ends_the_run_within_a_step_and_keeps_the_trained_weights(qtbot, window,
                                                                       tmp_path):
    panel = window.training_panel
    panel.start(steps=100_000)
    wait_steps(qtbot, panel, 5)
    panel.stop()
    at_stop = panel.worker.steps_done
    wait_idle(qtbot, panel, timeout=10_000)
    result = panel.worker.result
    assert result.status == "stopped" and result.steps <= at_stop + 1
    assert panel.history.steps_done == result.steps
    assert not window.document.read_only
    saved = panel.results.save_weights(tmp_path / "w.pt")
    import torch

    state = torch.load(saved, weights_only=True)
    assert torch.equal(state["t1.weight"], result.model.state_dict()["t1.weight"])


def test_a_diverging_run_stops_naming_its_loss_node_and_the_window_still_answers(qtbot,
                                                                               tmp_path):
    window = open_window(qtbot, tmp_path, diverging_graph())
    panel = window.training_panel
    panel.start(steps=200)
    wait_idle(qtbot, panel)
    error = panel.error
    assert isinstance(error, composer.TrainingError)
    assert error.node == "rec" and error.step is not None
    assert error.node in panel.message.text() and f"step {error.step}" in panel.message.text()
    assert panel.failure_box.isVisible()
    panel.failure_box.close()
    assert not window.document.read_only
    assert panel.curves.point_count("loss", "rec") == error.step  # the curve so far stays
    QApplication.processEvents()
    node = window.document.add_node("layer.relu", (400, 400))
    assert node in window.document.graph.nodes
    window.document.undo_stack.undo()
    assert node not in window.document.graph.nodes


def test_the_event_loop_answers_within_100_ms_while_training(qtbot, window):
    panel = window.training_panel
    panel.start(steps=100_000)
    wait_steps(qtbot, panel, 2)
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.wait(2000)
    timer.stop()
    steps = panel.worker.steps_done
    panel.stop()
    wait_idle(qtbot, panel)
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    p95 = gaps[int(0.95 * (len(gaps) - 1))]
    assert steps > 5  # it was training all along
    assert p95 < 0.100, f"95th percentile gap {p95 * 1000:.0f} ms"


def test_no_garbage_is_collected_on_the_training_thread(qtbot, window):
    """A collection there could delete Qt objects (a closed window's) off the GUI thread."""
    import gc
    import threading

    threads = []

    def seen(phase, info):
        if phase == "start":
            threads.append(threading.current_thread() is threading.main_thread())

    gc.callbacks.append(seen)
    try:
        window.training_panel.start(steps=20)
        wait_idle(qtbot, window.training_panel)
    finally:
        gc.callbacks.remove(seen)
    assert threads and all(threads)
    assert gc.isenabled()  # and automatic collection is back after the run


def test_weights_save_load_and_evaluate_to_the_runs_own_validation(qtbot, window, tmp_path):
    panel = window.training_panel
    panel.start(steps=20)
    wait_idle(qtbot, panel)
    final = panel.worker.result
    path = panel.results.save_weights(tmp_path / "trained.pt")
    window.document.replace_graph(small_graph())  # as opening the file again would
    assert panel.results.model is None and not panel.actions["evaluate"].isEnabled()
    assert panel.results.load_weights(path)
    panel.results.evaluate()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=30_000)
    rows = {panel.results.table.cell_text(r, 0): r for r in range(panel.results.table.rowCount())}
    assert panel.results.table.cell_text(rows["ce"], 2) == f"{final.val['ce']:.4g}"


def test_weights_of_another_graph_are_refused_naming_the_keys(qtbot, window, tmp_path):
    import torch

    other = composer.compile(small_graph())
    state = other.state_dict()
    state["t4.weight"] = torch.zeros(3, 3)
    state["stray.weight"] = torch.zeros(1)
    del state["a1.bias"]
    torch.save(state, tmp_path / "other.pt")
    panel = window.training_panel
    assert not panel.results.load_weights(tmp_path / "other.pt")
    text = panel.message.text()
    assert "a1.bias" in text and "stray.weight" in text and "t4.weight is [3, 3]" in text
    assert panel.results.model is None


def test_evaluate_gives_the_validation_a_run_ended_with_and_differs_untrained():
    g = small_graph()
    run = composer.train(g, steps=12)
    assert composer.evaluate(g, run.model) == (run.val, run.accuracy)
    untrained, _ = composer.evaluate(g, composer.compile(g))
    assert untrained["ce"] != run.val["ce"]


def test_mismatch_names_missing_unexpected_and_misshapen_keys():
    import torch

    expected = {"a.weight": torch.zeros(2, 3), "a.bias": torch.zeros(2)}
    assert mismatch(expected, dict(expected)) is None
    problem = mismatch(expected, {"a.weight": torch.zeros(3, 2), "b.bias": torch.zeros(1)})
    assert "missing a.bias" in problem and "not in this graph: b.bias" in problem
    assert "a.weight is [3, 2] in the file but [2, 3] in the graph" in problem


def test_screenshot_mode_trains_the_steps_asked_before_the_picture(qtbot, window, tmp_path):
    from gui.app import screenshot

    out = tmp_path / "shot.png"
    assert screenshot(window, str(out), 12) == 0
    panel = window.training_panel
    assert panel.history.steps_done == 12 and panel.curves.point_count("loss", "ce") == 12
    assert window.training_dock.isVisible() and out.stat().st_size > 10_000


def staged_start_event(total=40, spe=10):
    """What a run of two stage groups (g1 epochs 0-1, g2 epochs 2-3) reports at its start."""
    return {"kind": "start", "total_steps": total, "steps_per_epoch": spe, "epochs": total // spe,
            "losses": ["ce", "mse"], "groups": ["g1", "g2"], "step": 0,
            "schedule": {"g1": stage(0, 2), "g2": stage(2, None)}}


def staged_graph():
    g = small_graph()
    g.groups = [Group("g1", ["t1", "t4", "a1"], ["ce"], ui={"color": "#1b9e77"}),
                Group("g2", ["b1"], ["mse"], ui={"color": "#d95f02"})]
    return g


def test_the_curves_shade_each_phase_and_show_which_group_trains_in_it(qtbot):
    from pyqtgraph import LinearRegionItem
    from PySide6.QtWidgets import QGraphicsRectItem

    from gui.training.curves import CurvesView, setup_for
    from gui.training.history import RunHistory

    view = CurvesView()
    qtbot.addWidget(view)
    history = RunHistory(staged_start_event())
    view.setup(setup_for(history, staged_graph()))
    regions = [i for i in view.loss_plot.items if isinstance(i, LinearRegionItem)]
    assert sorted(r.getRegion() for r in regions) == [(0, 20), (20, 40)]
    bars = [i for i in view.strip.items if isinstance(i, QGraphicsRectItem)]
    assert sorted((b.rect().left(), b.rect().right()) for b in bars) == [(0, 20), (20, 40)]
    assert "g1" in bars[0].toolTip() or "g1" in bars[1].toolTip()


def test_a_legend_click_hides_a_loss_and_its_validation_points(qtbot):
    from PySide6.QtCore import Qt

    from gui.training.curves import CurvesView, setup_for
    from gui.training.history import RunHistory

    view = CurvesView()
    qtbot.addWidget(view)
    history = RunHistory(staged_start_event())
    for step in range(10):
        history.add({"kind": "step", "epoch": 0, "step": step, "loss": {"ce": 2.0 - step / 10},
                     "group_loss": {"g1": 2.0}, "lr": {"g1": 0.001, "g2": 0.001},
                     "active": ["g1"], "elapsed": step / 100})
    history.add({"kind": "epoch", "epoch": 0, "step": 9, "val": {"ce": 1.5}, "accuracy": {}})
    view.setup(setup_for(history, staged_graph()))
    view.refresh(history, final=True)
    sample = next(s for s, label in view.legend.items if label.text.startswith("ce"))

    class Click:
        def button(self):
            return Qt.MouseButton.LeftButton

        def accept(self):
            pass

    sample.mouseClickEvent(Click())
    assert not view.items[("loss", "ce")].isVisible()
    assert not view.items[("val", "ce")].isVisible()
    sample.mouseClickEvent(Click())
    assert view.items[("val", "ce")].isVisible()
    view.set_log(False)
    assert not view.loss_plot.getAxis("left").logMode
    view.set_log(True)
    assert view.loss_plot.getAxis("left").logMode


def test_the_device_list_offers_cuda_only_where_torch_finds_it(qtbot, monkeypatch):
    import torch

    from gui.training.panel import DeviceBox

    box = DeviceBox()
    qtbot.addWidget(box)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    box.probe()
    assert [box.itemText(i) for i in range(box.count())] == ["auto", "cpu", "cuda", "cuda:1"]


# --- phases --------------------------------------------------------------------------


def stage(first, end, every=1, offset=0, repeat=1):
    return {"every": every, "offset": offset, "epochs": [first, end], "repeat": repeat}


def test_stages_of_a_four_step_scheme_become_four_phases_and_an_idle_tail():
    phases = schedule_phases({"s1": stage(0, 4), "s2": stage(4, 7), "s3": stage(7, 9),
                              "s4": stage(9, 11)}, total_steps=300, steps_per_epoch=25)
    assert [(p.start, p.end, p.groups) for p in phases] == [
        (0, 100, ("s1",)), (100, 175, ("s2",)), (175, 225, ("s3",)), (225, 275, ("s4",)),
        (275, 300, ())]
    assert phases[-1].label == "no group trains"


def test_alternating_groups_share_a_phase_that_says_how_they_take_turns():
    phases = schedule_phases({"disc": stage(0, None), "gen": stage(1, None, every=2,
                                                                   offset=1)},
                             total_steps=40, steps_per_epoch=10)
    assert [(p.start, p.end, p.groups) for p in phases] == [(0, 10, ("disc",)),
                                                            (10, 40, ("disc", "gen"))]
    assert phases[1].label == "disc + gen (every 2nd step)"


def test_warm_up_is_its_own_phase_until_the_groups_last_warm_up_update():
    assert warmup_end(Schedule(every=2, offset=1), 3, 10) == 6  # updates at 1, 3, 5
    phases = schedule_phases({"g": stage(0, None)}, 50, 10, warmups={"g": 15})
    assert [(p.start, p.end, p.warming) for p in phases] == [(0, 15, ("g",)), (15, 50, ())]
    assert phases[0].label == "g, warm-up"


def test_a_groups_bar_runs_unbroken_where_it_trains_the_same_way():
    phases = schedule_phases({"disc": stage(0, None), "gen": stage(2, None, every=2, offset=1)},
                             total_steps=100, steps_per_epoch=10, warmups={"disc": 30})
    assert [(s.start, s.end, s.how) for s in group_spans(phases, "disc")] == [
        (0, 30, "warm-up"), (30, 100, "")]
    assert [(s.start, s.end, s.how) for s in group_spans(phases, "gen")] == [
        (20, 100, "every 2nd step")]


def test_a_failure_names_its_node_and_step_once():
    from gui.training.panel import failure_text

    said = failure_text("loss rec is inf at step 44 (group g)", "rec", 44)
    assert said == "Training stopped: loss rec is inf at step 44 (group g)"
    said = failure_text("RuntimeError: shapes do not match", "fc", 3)
    assert said == "Training stopped in node fc at step 3: RuntimeError: shapes do not match"
