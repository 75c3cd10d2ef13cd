"""The Document: every edit is one undo step, the analysis follows, files round-trip."""

from __future__ import annotations

import pytest

from composer import fileformat
from composer.analysis.shapes import format_shape
from composer.errors import GraphFormatError, ParamError
from composer.graph import Edge
from gui.document import READ_ONLY_MESSAGE, Document
from tests.graph_builder import classifier


@pytest.fixture
def doc(qtbot):
    document = Document()
    document.replace_graph(classifier())
    document.analyse_now()
    return document


def shape(document: Document, node: str, port: str = "out") -> str:
    document.analyse_now()
    info = document.shapes.output(node, port)
    return format_shape(info.shape) if info else "?"


def test_adding_a_node_is_one_undo_step_and_names_it_after_its_type(doc):
    before = doc.graph.to_dict()
    node_id = doc.add_node("layer.conv2d", (10, 20), {"out_channels": 4})
    assert node_id == "conv2d"
    assert doc.graph.nodes[node_id].params == {"out_channels": 4}
    assert doc.graph.nodes[node_id].ui["pos"] == [10, 20]
    assert doc.dirty
    doc.undo_stack.undo()
    assert doc.graph.to_dict() == before
    assert not doc.dirty


def test_deleting_nodes_and_edges_is_undone_exactly(doc):
    before = doc.graph.to_dict()
    doc.remove_items(["c1", "fc"], [Edge("d", "y", "ce", "target")])
    assert "c1" not in doc.graph.nodes and "fc" not in doc.graph.nodes
    assert doc.graph.group("g").members == []
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.to_dict() == before
    doc.undo_stack.redo()
    assert "c1" not in doc.graph.nodes


def test_typing_a_parameter_changes_the_downstream_shape_and_merges_into_one_step(doc):
    assert shape(doc, "f") == "[B,128]"  # 8 channels x 4 x 4
    for value in (1, 16):  # typed "1" then "16"
        doc.set_param("c1", "out_channels", value)
    assert shape(doc, "f") == "[B,256]"
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert shape(doc, "f") == "[B,128]"
    assert doc.graph.nodes["c1"].params["out_channels"] == 8


def test_an_invalid_parameter_is_refused_naming_node_and_parameter(doc):
    with pytest.raises(ParamError, match=r"c1\.out_channels: expected"):
        doc.set_param("c1", "out_channels", 0)
    assert doc.undo_stack.count() == 0


def test_connecting_into_a_wired_input_replaces_the_old_wire_in_one_step(doc):
    doc.add_node("layer.conv2d", (0, 0))
    assert doc.connect("d", "x", "conv2d", "in") is None
    assert doc.connect("conv2d", "out", "r1", "in") is None
    assert doc.graph.edge_into("r1", "in") == Edge("conv2d", "out", "r1", "in")
    assert Edge("c1", "out", "r1", "in") not in doc.graph.edges
    doc.undo_stack.undo()
    assert doc.graph.edge_into("r1", "in") == Edge("c1", "out", "r1", "in")


def test_an_impossible_connection_is_refused_with_its_reason(doc, qtbot):
    with qtbot.waitSignal(doc.message) as said:
        reason = doc.connect("d", "y", "c1", "in")  # labels into a convolution
    assert reason and "c1" in reason
    assert said.args == [reason]
    assert doc.connect("fc", "out", "c1", "in") is not None  # a cycle
    assert doc.graph.edge_into("c1", "in") == Edge("d", "x", "c1", "in")


def test_fewer_merge_inputs_drop_the_wires_into_removed_ports_in_the_same_step(doc):
    m = doc.add_node("merge.add", (0, 0), {"inputs": 3})
    for i in range(3):
        doc.connect("f", "out", m, f"in{i}")
    doc.set_param(m, "inputs", 2)
    assert [e.dst_port for e in doc.graph.edges_into(m)] == ["in0", "in1"]
    doc.undo_stack.undo()
    assert [e.dst_port for e in doc.graph.edges_into(m)] == ["in0", "in1", "in2"]


def test_paste_gives_fresh_ids_and_keeps_the_edges_among_the_copies(doc):
    data = doc.copy_nodes(["c1", "r1"])
    new = doc.paste(data, (100, 0))
    assert new == ["c1_2", "r1_2"]
    assert Edge("c1_2", "out", "r1_2", "in") in doc.graph.edges
    assert doc.graph.nodes["c1_2"].params == doc.graph.nodes["c1"].params
    with pytest.raises(GraphFormatError):
        doc.paste({"nodes": [{"id": "x", "type": "layer.nope"}]})


def test_duplicate_tied_shares_the_original_weights(doc):
    (copy,) = doc.duplicate(["fc"], tied=True)
    assert doc.graph.nodes[copy].shares == "fc"
    doc.remove_items(["fc"])  # deleting the original unties its copies in the same step
    assert doc.graph.nodes[copy].shares is None
    doc.undo_stack.undo()
    assert doc.graph.nodes[copy].shares == "fc"


def test_groups_take_losses_as_losses_and_a_loss_moves_between_groups(doc):
    gid = doc.add_group(["r1", "ce"])
    group = doc.graph.group(gid)
    assert (group.members, group.losses) == (["r1"], ["ce"])
    assert doc.graph.group("g").losses == []  # each loss is minimised by one group
    assert group.ui["color"].startswith("#")
    doc.undo_stack.undo()
    assert doc.graph.group(gid) is None
    assert doc.graph.group("g").losses == ["ce"]


def test_group_settings_are_validated_like_the_file_and_typing_merges(doc):
    doc.update_group("g", optimizer={"type": "sgd", "lr": 0.1})
    doc.update_group("g", optimizer={"type": "sgd", "lr": 0.05})
    assert doc.undo_stack.count() == 1
    with pytest.raises(GraphFormatError, match=r"g\.optimizer\.lr"):
        doc.update_group("g", optimizer={"type": "sgd", "lr": -1})
    doc.undo_stack.undo()
    assert doc.graph.group("g").optimizer == {"type": "adam", "lr": 0.001}


def test_read_only_refuses_every_edit_with_a_message(doc, qtbot):
    doc.set_read_only(True)
    before = doc.graph.to_dict()
    with qtbot.waitSignal(doc.message) as said:
        assert doc.add_node("layer.relu", (0, 0)) is None
    assert said.args == [READ_ONLY_MESSAGE]
    assert doc.connect("f", "out", "ce", "pred") == READ_ONLY_MESSAGE
    doc.set_param("c1", "out_channels", 3)
    doc.remove_items(["c1"])
    assert doc.add_group(["c1"]) is None
    assert doc.graph.to_dict() == before


def test_save_then_open_gives_an_equal_graph_and_a_clean_state(doc, tmp_path):
    doc.set_param("c1", "kernel_size", 5)
    path = doc.save(tmp_path / "model.graph.json")
    assert not doc.dirty and doc.path == path.resolve()
    other = Document()
    other.open(path)
    assert other.graph == doc.graph
    assert fileformat.load(path) == doc.graph


def test_edits_of_one_gesture_are_analysed_once(doc, qtbot):
    seen = []
    doc.analysed.connect(lambda: seen.append(1))
    doc.remove_items(["c1", "r1", "p1"])
    qtbot.waitUntil(lambda: bool(seen))
    qtbot.wait(20)
    assert len(seen) == 1


def test_the_first_analysis_runs_off_the_gui_thread_and_edits_meanwhile_are_not_lost(qtbot):
    document = Document()
    document.replace_graph(classifier())
    with qtbot.waitSignal(document.analysed, timeout=20000):
        document.warm_up()
        document.set_param("c1", "out_channels", 4)  # while the thread works on a copy
    assert format_shape(document.shapes.output("f", "out").shape) == "[B,64]"


def test_moving_a_node_the_file_never_placed_undoes_to_where_it_was_drawn(doc):
    from gui.canvas.layout import missing_positions

    drawn = missing_positions(doc.graph)["c1"]
    doc.move_nodes({"c1": (500, 500), "r1": (700, 500)})
    assert doc.graph.nodes["c1"].ui["pos"] == [500, 500]
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.nodes["c1"].ui["pos"] == [round(drawn[0], 1), round(drawn[1], 1)]
