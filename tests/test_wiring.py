"""Dragging a wire: refused with the reason when it can never work, allowed otherwise."""

from __future__ import annotations

import pytest
from graph_builder import classifier, make, wire

from composer.analysis.shapes import infer
from composer.analysis.wiring import connection_problem, port_kind
from composer.catalogue.base import NodeType, Port


@pytest.fixture
def g():
    graph = classifier()
    graph.nodes.update(make({"z": ("data.noise", {"dim": 10}), "cat": "merge.concat",
                             "mse": "loss.mse"}).nodes)
    return graph


def problem(graph, text, shapes=True):
    src, dst = text.split(" -> ")
    (s, sp), (d, dp) = src.split("."), dst.split(".")
    return connection_problem(graph, s, sp, d, dp, infer(graph) if shapes else None)


def test_a_fitting_wire_is_allowed(g):
    assert problem(g, "fc.out -> mse.pred") is None


def test_an_input_already_wired_is_not_a_refusal(g):
    assert g.edge_into("fc", "in") is not None
    assert problem(g, "f.out -> fc.in") is None


def test_a_node_cannot_feed_itself(g):
    assert problem(g, "c1.out -> c1.in") == "a node cannot feed itself"


@pytest.mark.parametrize("text, message", [
    ("ghost.out -> fc.in", "there is no node ghost"),
    ("c1.bogus -> fc.in", "layer.conv2d c1 has no output bogus (its outputs: out)"),
    ("c1.out -> fc.bogus", "layer.linear fc has no input bogus (its inputs: in)"),
])
def test_unknown_nodes_and_ports(g, text, message):
    assert problem(g, text) == message


def test_output_to_output_and_input_to_input(g):
    assert problem(g, "c1.out -> fc.out") == "fc.out is an output: drag from an output to an input"
    assert problem(g, "c1.in -> fc.in") == "c1.in is an input: drag from an output to an input"


def test_a_wire_closing_a_cycle(g):
    assert problem(g, "fc.out -> c1.in") == "fc -> c1 would close a cycle: c1 already feeds fc"


def test_a_loss_output_feeds_nothing(g):
    assert problem(g, "ce.loss -> mse.pred", shapes=False) == (
        "a loss's scalar output feeds nothing: it belongs in an optimiser group's losses")


def test_labels_into_a_float_port(g):
    assert problem(g, "d.y -> cat.in0", shapes=True).startswith(
        "labels (class ids) cannot feed merge.concat cat.in0: it takes float values")


def test_vectors_into_a_map_port_say_add_a_reshape(g):
    assert problem(g, "z.z -> c1.in") == ("layer.conv2d c1.in takes feature maps [B,C,H,W], "
                                          "not vectors: add a layer.reshape between")


def test_maps_into_a_vector_only_port_say_add_a_flatten(g, monkeypatch):
    from composer import catalogue

    vec = NodeType("layer.vec_only", "layer", "takes vectors only",
                   inputs=(Port("in", "vector"),), forward=lambda p, a, m: a["in"])
    monkeypatch.setitem(catalogue._TYPES, vec.id, vec)
    g.nodes.update(make({"v": "layer.vec_only"}).nodes)
    assert problem(g, "c1.out -> v.in") == ("layer.vec_only v.in takes vectors [B,F], not "
                                            "feature maps: add a layer.flatten between")


def test_maps_into_a_label_port(g):
    assert problem(g, "c1.out -> ce.target", shapes=False) == (
        "loss.cross_entropy ce.target takes class ids [B] int64, not feature maps: wire a data "
        "node's y here")


def test_trial_inference_refuses_mismatched_concat(g):
    g.edges.append(wire("d.x -> cat.in0"))
    assert problem(g, "p1.out -> cat.in1") == (
        "merge.concat cat: in1 is [B,8,4,4] but in0 is [B,1,8,8]; all dims but 1 must match")


def test_trial_with_missing_other_inputs_checks_what_it_can(g):
    assert problem(g, "fc.out -> mse.target") is None  # pred not wired yet: nothing to compare
    assert problem(g, "c1.out -> mse.pred") is None
    g.edges.append(wire("fc.out -> mse.pred"))
    assert problem(g, "z.z -> mse.target") is None  # [B,10] like pred
    assert problem(g, "c1.out -> mse.target").startswith("loss.mse mse: pred is [B,10] but "
                                                        "target is [B,8,8,8]")


def test_replacing_an_input_is_tried_with_the_new_wire(g):
    assert problem(g, "d.x -> fc.in") is None  # linear over the last dim of [B,1,8,8]
    assert problem(g, "d.x -> ce.pred") == (
        "loss.cross_entropy ce expects logits [B,classes] at pred but pred is [B,1,8,8]: add "
        "a layer.flatten and a layer.linear before it")


@pytest.mark.parametrize("node, port, kind", [
    ("d", "x", "map"), ("d", "y", "label"), ("z", "z", "vector"),
    ("c1", "out", "map"), ("r1", "out", "map"), ("r1", "in", "map"), ("f", "out", "vector"),
    ("fc", "out", "vector"), ("fc", "in", "vector"), ("ce", "loss", "loss"),
    ("ce", "target", "label"), ("cat", "out", "tensor"), ("ghost", "out", "tensor"),
])
def test_port_kinds_resolve_from_inferred_shapes(g, node, port, kind):
    assert port_kind(g, infer(g), node, port) == kind


def test_port_kinds_without_shapes_are_the_declared_ones(g):
    assert port_kind(g, None, "r1", "out") == "tensor"
    assert port_kind(g, None, "c1", "out") == "map"
