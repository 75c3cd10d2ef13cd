"""Building the GAN sample by hand, from File > New, as a person would: real clicks, drags,
shortcuts and typing, each counted (a click, a drag, a shortcut, a typed value: 1; a choice
in a combo box: 2). The discriminator is one network with three tied instances. The result
is the sample's model, checks clean, and trains."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QToolBar, QWidget

import composer
from composer import fileformat
from composer.graph import Graph
from tests.canvas_helpers import drag
from tests.gui_helpers import open_window

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "gan_digits.graph.json"
NONE = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT_CTRL = CTRL | Qt.KeyboardModifier.ShiftModifier
GESTURE_LIMIT = 40


class Person:
    """Uses the window with mouse and keyboard, counting gestures; every point it touches on
    the canvas is one a person can see."""

    def __init__(self, window) -> None:
        self.w = window
        self.gestures: list[str] = []

    def _count(self, what: str) -> None:
        self.gestures.append(what)
        QTest.qWait(100)  # a person's pause: what the gesture set off has happened

    def _visible(self, point: QPoint) -> QPoint:
        assert self.w.view.viewport().rect().contains(point), f"{point} is off the canvas"
        return point

    def key(self, key, modifier=NONE, what: str = "") -> None:
        focus = QApplication.focusWidget() or self.w
        QTest.keyClick(focus, key, modifier)
        self._count(what or f"key {key}")

    def type(self, text: str, enter: bool = True) -> None:
        focus = QApplication.focusWidget()
        QTest.keyClicks(focus, text)
        if enter:
            QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        self._count(f"type {text!r}")

    def click(self, widget: QWidget, modifier=NONE, at: QPoint | None = None) -> None:
        at = at if at is not None else widget.visibleRegion().boundingRect().center()
        assert widget.isVisible() and widget.visibleRegion().contains(at), \
            f"{widget.objectName()} is out of sight"
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifier, at)
        self._count(f"click {widget.objectName() or type(widget).__name__}")

    def toolbar(self, action: str) -> None:
        button = self.w.findChild(QToolBar, "main_toolbar").widgetForAction(
            self.w.actions[action])
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        self._count(f"toolbar {action}")

    def click_node(self, node: str, modifier=NONE) -> None:
        item = self.w.scene.node_item(node)
        at = self.w.view.mapFromScene(item.scenePos() + QPointF(item.width / 2, 12))
        QTest.mouseClick(self.w.view.viewport(), Qt.MouseButton.LeftButton, modifier,
                         self._visible(at))
        self._count(f"click {node}")

    def port(self, node: str, port: str, output: bool) -> QPoint:
        item = self.w.scene.node_item(node)
        table = item.outputs if output else item.inputs
        return self._visible(self.w.view.mapFromScene(table[port].anchor()))

    def wire(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        drag(self.w.view, self.port(src, src_port, True), self.port(dst, dst_port, False))
        self._count(f"wire {src}.{src_port} -> {dst}.{dst_port}")

    def drop_wire(self, src: str, src_port: str, at: QPointF) -> None:
        """Drags a wire from an output onto empty canvas: the quick-add opens there."""
        drag(self.w.view, self.port(src, src_port, True),
             self._visible(self.w.view.mapFromScene(at)))
        self._count(f"wire {src}.{src_port} to empty canvas")

    def band(self, nodes: list[str]) -> None:
        """A rubber band from empty canvas around these nodes."""
        rect = QRectF()
        for n in nodes:
            rect = rect.united(self.w.scene.node_item(n).sceneBoundingRect())
        rect = rect.adjusted(-14, -14, 14, 14)
        start = self._visible(self.w.view.mapFromScene(rect.topLeft()))
        end = self._visible(self.w.view.mapFromScene(rect.bottomRight()))
        drag(self.w.view, start, end)
        self._count(f"band around {', '.join(nodes)}")


def build(p: Person) -> None:
    w = p.w
    p.key(Qt.Key.Key_N, CTRL, "File > New")
    assert w.palette.search.hasFocus()  # an empty graph starts with a block: type it
    for block in ("noise 32", "linear 256", "batchnorm1d", "leaky 0.2", "linear 64",
                  "sigmoid", "reshape", "detach"):  # the generator, wired as it grows
        p.type(block)
    for block in ("digits", "flatten", "linear 256", "leaky 0.2", "dropout 0.3", "linear 1",
                  "bce_logits"):  # the discriminator on real digits, and its loss
        p.type(block)
    p.band(["flatten", "linear_3", "leaky_relu_2", "dropout", "linear_4"])
    p.key(Qt.Key.Key_G, CTRL, "make network")
    p.type("Discriminator")
    p.key(Qt.Key.Key_D, SHIFT_CTRL, "duplicate tied")
    p.key(Qt.Key.Key_D, SHIFT_CTRL, "duplicate tied")
    d_fake, d_for_g = "discriminator_2", "discriminator_3"
    p.wire("detach", "out", d_fake, "in_")
    p.wire("reshape", "out", d_for_g, "in_")
    loss = w.scene.node_item("bce_logits")
    p.drop_wire(d_fake, "out", loss.scenePos() + QPointF(0, loss.height + 60))
    p.type("bce_logits target=0")
    for_g = w.scene.node_item(d_for_g)
    p.drop_wire(d_for_g, "out", for_g.scenePos() + QPointF(for_g.width + 120, 20))
    p.type("bce_logits")
    # Groups made of losses alone train what the losses reach that no group trains yet:
    # the discriminator's first (its fake branch is detached: only D), then the generator's.
    groups = w.groups
    p.click_node("bce_logits")
    p.click_node("bce_logits_2", CTRL)
    p.click(groups.new_button)
    p.type("disc")  # Enter goes on to the learning rate
    p.type("0.0005", enter=False)
    p.click(groups.editor.editors["optimizer.betas"].field)
    p.type("0.5, 0.999", enter=False)
    p.click_node("bce_logits_3")
    p.click(groups.new_button)
    p.type("gen")
    p.click(groups.editor.editors["optimizer.betas"].field)
    p.type("0.5, 0.999", enter=False)


def losses(graph: Graph, steps: int = 3) -> list[list[float]]:
    """Each step's loss values, whatever the loss nodes are called."""
    run = composer.train(graph, steps=steps, seed=0, epochs=1)
    return [sorted(round(v, 5) for v in row["loss"].values())
            for row in run.history if "loss" in row]


def test_the_gan_sample_is_built_by_hand_in_few_gestures(qtbot, tmp_path, monkeypatch):
    def refused(parent, title, text, *args):
        raise AssertionError(f"{title}: {text}")

    monkeypatch.setattr(QMessageBox, "warning", refused)
    w = open_window(qtbot, tmp_path, Graph("something else"))
    p = Person(w)
    build(p)
    print(f"\nThe GAN sample built from File > New in {len(p.gestures)} gestures:")
    for i, gesture in enumerate(p.gestures, 1):
        print(f"  {i:2d}. {gesture}")
    graph = w.document.graph
    assert [str(d) for d in composer.check(graph) if d.is_error] == []
    network = graph.networks["Discriminator"]
    assert [n.type for n in network.graph.nodes.values()] == [
        "layer.flatten", "layer.linear", "layer.leaky_relu", "layer.dropout", "layer.linear"]
    assert [n.shares for n in graph.instances()] == [None, "discriminator", "discriminator"]
    assert graph.group("disc").members == ["discriminator"]
    assert graph.group("gen").members == ["linear", "batchnorm1d", "linear_2"]
    sample = fileformat.load(SAMPLE)
    for group in ("disc", "gen"):
        assert graph.group(group).optimizer == sample.group(group).optimizer
    # The same model as the sample: the same losses, step by step, from the same seed.
    assert losses(graph) == losses(sample)
    assert len(p.gestures) <= GESTURE_LIMIT
    # and it trains in the window
    panel = w.training_panel
    assert panel.start(steps=3)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    assert panel.error is None
    assert panel.curves.point_count("loss", "bce_logits_3") == 3  # the generator's loss
    panel.shutdown()
