"""The loss curves name losses as the graph does and keep their axis labels apart."""

from __future__ import annotations

import math

import pytest
from PySide6.QtWidgets import QApplication

from gui.training.curves import CurvesView, setup_for
from gui.training.history import RunHistory
from gui.training.log_axis import MIN_GAP_PX, log_ticks
from tests.graph_builder import classifier


def run_view(qtbot, losses: list[float]) -> CurvesView:
    graph = classifier()
    graph.nodes["ce"].label = "digit loss"
    history = RunHistory({"kind": "start", "total_steps": len(losses), "steps_per_epoch":
                          len(losses), "epochs": 1, "losses": ["ce"], "groups": ["g"],
                          "step": 0, "schedule": {}})
    for step, loss in enumerate(losses):
        history.add({"kind": "step", "epoch": 0, "step": step, "loss": {"ce": loss},
                     "group_loss": {"g": loss}, "lr": {"g": 0.001}, "active": ["g"],
                     "elapsed": step / 100})
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    view.setup(setup_for(history, graph))
    view.set_log(True)
    view.refresh(history, final=True)
    QApplication.processEvents()
    return view


def test_the_legend_names_a_loss_by_its_label_with_its_group(qtbot):
    view = run_view(qtbot, [2.3 - i / 100 for i in range(50)])
    labels = [label.text for _, label in view.legend.items]
    assert "digit loss \u00b7 g" in labels
    assert not [t for t in labels if t.startswith("ce")]


@pytest.mark.parametrize("low, high, size", [
    (0.55, 1.3, 240.0), (0.62, 0.7, 240.0), (0.01, 3.0, 240.0), (1e-4, 10.0, 240.0),
    (8.3e-6, 2.6, 118.0), (1e-9, 10.0, 60.0),  # more decades than a short axis can label
])
def test_log_axis_labels_keep_apart_and_differ(low, high, size):
    ticks = log_ticks(math.log10(low), math.log10(high), size)
    assert len(ticks) >= 2
    per_decade = size / (math.log10(high) - math.log10(low))
    gaps = [(b - a) * per_decade for a, b in zip(ticks, ticks[1:], strict=False)]
    assert min(gaps) >= MIN_GAP_PX
    texts = [f"{10 ** t:.3g}" for t in ticks]
    assert len(set(texts)) == len(texts)


def test_the_loss_plot_draws_its_log_labels_apart(qtbot):
    view = run_view(qtbot, [1.3 - 0.75 * i / 49 for i in range(50)])  # 1.3 down to 0.55
    axis = view.loss_plot.getAxis("left")
    low, high = view.loss_plot.getViewBox().viewRange()[1]
    size = axis.geometry().height()
    levels = axis.tickValues(low, high, size)
    values = sorted(v for _, vs in levels for v in vs)
    per_unit = size / (high - low)
    assert min(b - a for a, b in zip(values, values[1:], strict=False)) * per_unit >= MIN_GAP_PX
    texts = axis.tickStrings(values, 1.0, 1.0)
    assert "1" in texts and len(set(texts)) == len(texts) >= 3
