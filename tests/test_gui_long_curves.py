"""A run of 200,000 steps draws as cheaply as a short one: each curve hands Qt a number of
points set by its width in pixels, keeps a one-step spike and dip visible zoomed out, and
shows every step exactly once the user zooms in, with its epoch markers and wide dashes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from gui.training.curves import CurvesView, setup_for
from gui.training.history import RunHistory
from gui.training.series_curve import DOT_SPACING_PX, SAMPLES_PER_PIXEL
from tests.graph_builder import gan

STEPS = 200_000
PER_EPOCH = 20
SPIKE, DIP = 123_457, 61_729  # one step each, far above and below the rest


@pytest.fixture
def long_run(qtbot):
    """A view of a finished 200,000-step run of a GAN's d_real loss, its validation per epoch
    and its group's total (drawn dashed)."""
    values = 1.0 + 0.1 * np.random.default_rng(0).random(STEPS)
    values[SPIKE], values[DIP] = 40.0, 0.02
    history = RunHistory({"kind": "start", "total_steps": STEPS, "steps_per_epoch": PER_EPOCH,
                          "epochs": STEPS // PER_EPOCH, "losses": ["d_real"],
                          "groups": ["disc"], "step": 0, "schedule": {}})
    loss, total = history.get("loss", "d_real"), history.get("group_loss", "disc")
    for step, value in enumerate(values.tolist()):  # as history.add would, faster
        loss.append(step, value)
        total.append(step, value + 0.7)
    val = history.get("val", "d_real")
    for step in range(PER_EPOCH - 1, STEPS, PER_EPOCH):
        val.append(step + 1, float(values[step]))
    history.changed |= {("loss", "d_real"), ("group_loss", "disc"), ("val", "d_real")}
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    view.setup(setup_for(history, gan()))
    view.set_log(True)
    view.refresh(history, final=True)
    QApplication.processEvents()
    return view, values


def most_points(width: float) -> float:
    """What a curve `width` pixels wide may draw: a low and a high per bucket, and up to 1.5
    buckets per slot since bucket sizes are whole numbers of steps."""
    return 3 * SAMPLES_PER_PIXEL * width + 4


def drawn(view: CurvesView, kind: str, name: str = "d_real") -> tuple[np.ndarray, np.ndarray]:
    """The points pyqtgraph hands Qt for a curve (after clipping and downsampling)."""
    x, y = view.items[(kind, name)].curve.getData()
    return np.asarray(x), np.asarray(y)


def wheel_on_step_axis(view: CurvesView, step: float, notches: int) -> None:
    """The user turns the wheel over the loss plot's step axis (which zooms steps only)."""
    box = view.loss_plot.getViewBox()
    axis = view.loss_plot.getAxis("bottom")
    scene = QPointF(box.mapViewToScene(QPointF(step, 0)).x(),
                    axis.sceneBoundingRect().center().y())
    at = view.canvas.mapFromScene(scene)
    viewport = view.canvas.viewport()
    wheel = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    QApplication.processEvents()


@pytest.mark.parametrize("log", [True, False], ids=["log", "linear"])
def test_a_long_run_draws_few_points_and_keeps_its_spike_and_dip(long_run, log):
    view, reported = long_run
    view.set_log(log)
    QApplication.processEvents()
    assert np.array_equal(view.items[("loss", "d_real")].yData, reported)  # either axis
    width = view.loss_plot.getViewBox().width()
    x, y = drawn(view, "loss")
    assert len(x) <= most_points(width)  # of 200,000
    values = 10 ** y if log else y
    assert np.nanmax(values) == pytest.approx(40.0)
    assert np.nanmin(values) == pytest.approx(0.02)
    assert x.max() >= STEPS - STEPS / width  # the curve reaches its last pixel
    val_x, _ = drawn(view, "val")
    assert len(val_x) <= most_points(width)  # of 10,000
    assert not view.items[("val", "d_real")].scatter.isVisible()  # 10,000 epochs: a line
    assert view.items[("group_loss", "disc")].curve.opts["pen"].widthF() == 1  # thin dashes


def test_zooming_in_shows_every_step_exactly(long_run):
    view, values = long_run
    wheel_on_step_axis(view, SPIKE, 12)  # about 35 times closer, then 60 times more
    wheel_on_step_axis(view, SPIKE, 14)  # (aimed again: a pixel was 250 steps wide)
    low, high = view.loss_plot.getViewBox().viewRange()[0]
    assert low < SPIKE < high and 20 < high - low < 1000
    x, y = drawn(view, "loss")
    steps = x.astype(int)
    inside = np.arange(math.ceil(low), math.floor(high) + 1)
    assert set(inside) <= set(steps.tolist())  # every step in view, none merged
    assert len(steps) <= len(inside) + 2  # and one beyond each edge, no more
    assert np.allclose(10 ** y, values[steps])
    total = view.items[("group_loss", "disc")].curve.opts["pen"]
    assert total.widthF() == 2 and total.style() == Qt.PenStyle.DashLine
    markers = view.items[("val", "d_real")].scatter
    epochs = [s for s in range(PER_EPOCH, STEPS + 1, PER_EPOCH) if low <= s <= high]
    assert len(epochs) * DOT_SPACING_PX <= view.loss_plot.getViewBox().width()
    assert markers.isVisible()
    shown = {int(p.pos().x()) for p in markers.points() if low <= p.pos().x() <= high}
    assert shown == set(epochs)
