"""Opening a network (double-click an instance) to edit its inside: the breadcrumb bar, the
shapes of one instance, edits every instance follows, undo, save, and the way back out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QSpinBox

import composer
from composer import fileformat
from tests.gui_helpers import CTRL, click, node_point, open_window, press_keys
from tests.network_graphs import gan_with_network


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, gan_with_network())


def double_click(w, node: str) -> None:
    QTest.mouseDClick(w.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, node_point(w, node))


def open_discriminator(w, instance: str = "d_real") -> None:
    double_click(w, instance)
    assert w.document.trail and w.document.trail[-1].network == "Discriminator"
    w.view.fit_all()


def test_double_clicking_an_instance_shows_the_inside_with_that_instances_shapes(window):
    w = window
    open_discriminator(w, "d_fake")
    assert w.breadcrumb.isVisible()
    assert w.breadcrumb.crumbs[0].text() == "GAN with a network"
    assert "Discriminator" in w.breadcrumb.findChild(QLabel, "breadcrumb_here").text()
    assert sorted(i.node_id for i in w.scene.node_items()) == ["act", "drop", "fc1", "fc2",
                                                                "flat"]
    assert w.scene.node_item("flat").shapes == {"out": "[B,64]"}
    assert w.scene.node_item("fc2").shapes == {"out": "[B,1]"}
    assert w.breadcrumb.instances.currentText() == "d_fake"
    # the network's own ports are marked on the inner ports they are
    assert w.scene.node_item("flat").face.exposed == {(False, "in"): "image"}
    assert w.scene.node_item("fc2").face.exposed == {(True, "out"): "logit"}
    click(w.view.viewport(), node_point(w, "fc1"))  # its width is each instance's own
    assert not w.inspector.editors["out_features"].isEnabled()
    assert "width" in w.inspector.editors["out_features"].toolTip()
    click(w.breadcrumb.crumbs[0])
    assert not w.document.trail and not w.breadcrumb.isVisible()
    assert w.scene.node_item("d_real") is not None


def test_an_edit_inside_changes_every_instance_is_undone_in_one_step_and_saved(window,
                                                                               tmp_path):
    w = window
    open_discriminator(w)
    click(w.view.viewport(), node_point(w, "fc2"))
    box = w.inspector.findChild(QSpinBox, "param_out_features")
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "3")
    QTest.keyClick(box, Qt.Key.Key_Return)
    w.document.analyse_now()
    assert w.scene.node_item("fc2").shapes == {"out": "[B,3]"}
    press_keys(w, Qt.Key.Key_Escape)  # drops the selection
    press_keys(w, Qt.Key.Key_Escape)  # backs out of the network
    assert not w.document.trail
    w.document.analyse_now()
    for instance in ("d_real", "d_fake", "d_for_g"):
        assert w.scene.node_item(instance).shapes == {"logit": "[B,3]"}
    assert w.document.dirty
    w.document.save(tmp_path / "gan.graph.json")
    saved = fileformat.load(tmp_path / "gan.graph.json")
    assert saved.networks["Discriminator"].graph.nodes["fc2"].params == {"out_features": 3}
    press_keys(w, Qt.Key.Key_Z, CTRL)
    w.document.analyse_now()
    assert w.scene.node_item("d_real").shapes == {"logit": "[B,1]"}
    assert w.document.undo_stack.count() == 1


def test_deleting_an_inner_node_that_was_an_input_takes_the_port_and_its_wires(window):
    w = window
    open_discriminator(w)
    click(w.view.viewport(), node_point(w, "flat"))
    press_keys(w, Qt.Key.Key_Delete)
    network = w.document.graph.networks["Discriminator"]
    assert "flat" not in network.graph.nodes and network.inputs == {}
    assert not any(e.dst_port == "image" for e in w.document.graph.edges)
    press_keys(w, Qt.Key.Key_Z, CTRL)
    assert network.inputs == {"image": ["flat.in"]}
    assert sum(e.dst_port == "image" for e in w.document.graph.edges) == 3


def test_the_only_output_cannot_be_deleted_but_another_port_can_be_made_an_output(window):
    w = window
    open_discriminator(w)
    click(w.view.viewport(), node_point(w, "fc2"))
    press_keys(w, Qt.Key.Key_Delete)
    assert "fc2" in w.document.level.nodes
    click(w.view.viewport(), node_point(w, "fc1"))
    click(w.inspector.findChild(QPushButton, "network_port_output_out"))
    network = w.document.graph.networks["Discriminator"]
    assert network.outputs == {"logit": "fc2.out", "out": "fc1.out"}
    assert w.scene.node_item("fc1").face.exposed == {(True, "out"): "out"}
    press_keys(w, Qt.Key.Key_Escape)
    press_keys(w, Qt.Key.Key_Escape)
    assert list(w.scene.node_item("d_real").outputs) == ["logit", "out"]
    assert [d for d in composer.check(w.document.graph) if d.is_error] == []


def test_the_instance_whose_shapes_are_shown_is_picked_above_the_canvas(window):
    w = window
    open_discriminator(w, "d_real")
    combo = w.breadcrumb.instances
    assert [combo.itemText(i) for i in range(combo.count())] == ["d_real", "d_fake", "d_for_g"]
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_End)  # a choice as a keyboard user makes it
    assert w.document.instance_path() == "d_for_g"
    assert w.scene.node_item("flat").shapes == {"out": "[B,64]"}
    assert w.document.trail[-1].instance == "d_for_g"


def test_a_port_of_the_open_network_is_renamed_and_instance_wires_follow(window):
    w = window
    open_discriminator(w)
    edit = w.inspector.findChild(QLineEdit, "network_input_image")
    click(edit)
    edit.selectAll()
    QTest.keyClicks(edit, "picture")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    network = w.document.graph.networks["Discriminator"]
    assert network.inputs == {"picture": ["flat.in"]}
    assert sum(e.dst_port == "picture" for e in w.document.graph.edges) == 3
    assert [d for d in composer.check(w.document.graph) if d.is_error] == []
    w.document.undo_stack.undo()
    assert network.inputs == {"image": ["flat.in"]}
    assert sum(e.dst_port == "image" for e in w.document.graph.edges) == 3


def test_an_inner_parameter_made_a_network_parameter_is_set_per_instance(window):
    w = window
    open_discriminator(w)
    click(w.view.viewport(), node_point(w, "drop"))
    click(w.inspector.findChild(QPushButton, "network_param_p"))
    QTest.qWait(10)  # the inspector is built again once the click is over
    network = w.document.graph.networks["Discriminator"]
    assert network.params["p"].default == 0.3 and network.params["p"].sets == ["drop.p"]
    assert not w.inspector.editors["p"].isEnabled()
    press_keys(w, Qt.Key.Key_Escape)
    press_keys(w, Qt.Key.Key_Escape)
    click(w.view.viewport(), node_point(w, "d_real"))
    assert w.inspector.editors["p"].field.text() == "0.3"
    w.document.set_param("d_real", "p", 0.5)
    w.document.set_param("d_fake", "p", 0.5)  # a tie needs the same parameters
    w.document.set_param("d_for_g", "p", 0.5)
    assert [d for d in composer.check(w.document.graph) if d.is_error] == []
    open_discriminator(w)
    click(w.view.viewport(), node_point(w, "drop"))
    click(w.inspector.findChild(QPushButton, "network_param_p"))  # off again
    QTest.qWait(10)
    assert "p" not in network.params
    assert all("p" not in n.params for n in w.document.graph.instances())
