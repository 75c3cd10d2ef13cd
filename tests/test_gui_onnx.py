"""Export ONNX from the Results page: after a run, a click asks which outputs (what the losses
score ticked to begin with) and where, writes the trained model's path to them, and says where;
without the onnx extra it says which to install and asks nothing."""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime
import pytest
import torch
from composed_graphs import multitask
from gui_helpers import open_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QToolButton

import composer
from gui.training.onnx_outputs import OnnxOutputsDialog

OK = QDialogButtonBox.StandardButton.Ok


@pytest.fixture
def window(qtbot, tmp_path):
    graph = multitask()
    graph.training.steps_per_epoch = 5
    w = open_window(qtbot, tmp_path, graph)
    yield w
    w.training_panel.shutdown()


def click_export(qtbot, window) -> None:
    """Shows the Results tab and clicks its Export ONNX button, as a user would."""
    panel = window.training_panel
    panel.tabs.setCurrentWidget(panel.results)
    action = panel.results.actions["export_onnx"]
    (button,) = [b for b in panel.results.findChildren(QToolButton)
                 if b.defaultAction() is action]
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_export_onnx_writes_the_trained_outputs_ticked_in_the_dialog(qtbot, window, tmp_path,
                                                                      monkeypatch):
    panel = window.training_panel
    assert not panel.results.actions["export_onnx"].isEnabled()  # nothing trained yet
    panel.start(steps=5)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    asked = {}

    def tick(dialog: OnnxOutputsDialog) -> int:
        asked["ticked"] = dialog.chosen()
        qtbot.mouseClick(dialog.boxes["b3.out"], Qt.MouseButton.LeftButton)  # untick
        qtbot.mouseClick(dialog.boxes["t5.out"], Qt.MouseButton.LeftButton)  # tick
        qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(OnnxOutputsDialog, "exec", tick)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "trained.onnx"), ""))
    click_export(qtbot, window)
    assert asked["ticked"] == ["a1.out", "b3.out"]  # what the two losses score
    qtbot.waitUntil(lambda: not panel.results.busy, timeout=120_000)
    assert panel.message.text() == (f"Exported t5.out, a1.out (from d.x) to "
                                    f"{tmp_path / 'trained.onnx'}.")
    x = torch.rand(5, 1, 8, 8)
    session = onnxruntime.InferenceSession(str(tmp_path / "trained.onnx"))
    got = dict(zip(["t5.out", "a1.out"], session.run(["t5.out", "a1.out"], {"d.x": x.numpy()}),
                   strict=True))
    with torch.no_grad():
        expected = panel.results.model.eval()({"d.x": x}, ["t5.out", "a1.out"])
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value.numpy(), atol=1e-4, rtol=0)


def test_without_the_onnx_extra_the_page_names_it_and_asks_nothing(qtbot, window, tmp_path,
                                                                 monkeypatch):
    torch.save(composer.compile(window.document.graph).state_dict(), tmp_path / "w.pt")
    assert window.training_panel.results.load_weights(tmp_path / "w.pt")
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # `import onnxscript` now fails
    monkeypatch.setattr(OnnxOutputsDialog, "exec", lambda d: pytest.fail("asked for outputs"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("asked"))
    click_export(qtbot, window)
    assert window.training_panel.message.text() == (
        "Cannot export ONNX: ONNX export needs the onnx extra: pip install 'model-composer[onnx]'")
