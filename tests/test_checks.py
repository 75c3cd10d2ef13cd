"""Each check fires on the graph that deserves it, names the node, and says what to do."""

from __future__ import annotations

import numpy as np
import pytest
from graph_builder import classifier, gan, make, wire

from composer.analysis.checks import check
from composer.analysis.diagnostics import ERROR, HINT, WARNING
from composer.analysis.shapes import ShapeProblem, infer
from composer.graph import Group, Node


def about(graph, node, severity=None):
    """The diagnostics that name `node` (optionally of one severity)."""
    return [d for d in check(graph) if d.node == node and severity in (None, d.severity)]


def one(graph, node, severity=ERROR):
    found = about(graph, node, severity)
    assert len(found) == 1, [str(d) for d in check(graph)]
    return found[0]


def test_clean_graphs_have_no_diagnostics():
    assert check(classifier()) == []
    assert check(gan()) == []


# --- structure --------------------------------------------------------------------------------

def test_cycle_is_reported_once_naming_every_node_on_it():
    g = classifier()
    g.edges.append(wire("p1.out -> c1.in"))  # c1 -> r1 -> p1 -> c1
    cycles = [d for d in check(g) if "cycle" in d.message]
    assert len(cycles) == 1 and cycles[0].node == "c1" and cycles[0].is_error
    assert "c1 -> r1 -> p1 -> c1" in cycles[0].message


def test_unwired_required_input_names_its_port():
    g = classifier()
    g.edges = [e for e in g.edges if e.dst != "ce" or e.dst_port != "target"]
    d = one(g, "ce")
    assert d.port == "target" and "input target is not wired" in d.message


def test_optional_input_may_stay_unwired():
    g = gan()
    assert g.edge_into("d_real", "target") is None and check(g) == []


def test_input_wired_twice_names_both_sources():
    g = classifier()
    g.edges.append(wire("c1.out -> p1.in"))
    d = next(d for d in check(g) if "wired 2 times" in d.message)
    assert (d.node, d.port) == ("p1", "in")
    assert "from r1.out and c1.out" in d.message


def test_wire_from_a_node_that_does_not_exist():
    g = classifier()
    g.edges.append(wire("ghost.out -> ce.target"))
    d = next(d for d in check(g) if "ghost" in d.message)
    assert (d.node, d.port) == ("ce", "target")
    assert d.message == ("target is wired from ghost.out, but there is no node ghost: remove "
                         "that wire")


def test_wire_to_a_port_removed_by_fewer_merge_inputs_says_how_to_fix():
    g = make({"a": ("data.noise", {"dim": 4}), "m": ("merge.add", {"inputs": 2})},
             ["a.z -> m.in0", "a.z -> m.in1", "a.z -> m.in2"])
    d = next(d for d in check(g) if d.port == "in2")
    assert d.node == "m" and "has no input port in2 (its inputs: in0, in1)" in d.message
    assert d.message.endswith("remove that wire or set inputs to 3")


def test_wire_from_an_unknown_output_port():
    g = classifier()
    g.edges.append(wire("d.pixels -> fc.in"))
    d = next(d for d in check(g) if d.port == "pixels")
    assert d.node == "d" and "has no output port pixels (its outputs: x, y)" in d.message


def test_unknown_node_type_suggests_the_closest():
    g = classifier()
    g.nodes["c1"].type = "layer.conv2"
    d = next(d for d in check(g) if d.node == "c1")
    assert d.message == 'unknown node type "layer.conv2"; did you mean layer.conv2d?'


def test_unknown_parameter_suggests_the_closest():
    g = classifier()
    g.nodes["c1"].params["kernal_size"] = 3
    d = one(g, "c1")
    assert d.param == "kernal_size"
    assert d.message == "kernal_size: unknown parameter of layer.conv2d; did you mean kernel_size?"


@pytest.mark.parametrize("value, expected", [
    (0, "out_channels: expected an integer from 1 to 4096, got 0"),
    ("16", 'out_channels: expected an integer from 1 to 4096, got "16"'),
    (True, "out_channels: expected an integer from 1 to 4096, got true"),
    ({1, 2}, "out_channels: expected an integer from 1 to 4096, got {1, 2}"),
])
def test_parameter_values_are_revalidated_whatever_was_set(value, expected):
    g = classifier()
    g.nodes["c1"].params["out_channels"] = value
    d = one(g, "c1")  # one error: no shape error piled on top
    assert d.param == "out_channels" and d.message == expected


def test_invalid_node_id_set_by_a_program():
    g = classifier()
    g.nodes["c1"].id = "1conv"
    g.nodes["1conv"] = g.nodes.pop("c1")
    d = next(d for d in check(g) if d.node == "1conv" and "valid node id" in d.message)
    assert d.is_error


# --- tied weights -----------------------------------------------------------------------------

def _tied(shares, other_type="layer.conv2d", other_params=None):
    g = classifier()
    g.nodes["c2"] = Node("c2", other_type, other_params or {"out_channels": 8, "padding": 1},
                         shares=shares)
    g.edges += [wire("d.x -> c2.in")]
    g.groups[0].members.append("c2")
    return g


@pytest.mark.parametrize("shares, other_type, params, message", [
    ("nope", "layer.conv2d", None, 'shares "nope", which is not a node'),
    ("c2", "layer.conv2d", None, "shares itself: clear shares, or name the node whose "
                                 "weights it uses"),
    ("fc", "layer.conv2d", None, "shares fc, a layer.linear, but is a layer.conv2d: tied "
                                 "weights need the same type"),
    ("c1", "layer.conv2d", {"out_channels": 4, "padding": 1},
     "shares c1 but out_channels is 4 here but 8 there: tied weights need the same "
     "parameters; copy them from c1"),
])
def test_shares_must_name_another_node_of_same_type_and_params(shares, other_type, params,
                                                              message):
    d = next(d for d in check(_tied(shares, other_type, params)) if d.param == "shares")
    assert d.node == "c2" and d.is_error and d.message == message


def test_shares_chain_says_to_share_the_end_directly():
    g = _tied("c1")
    g.nodes["c3"] = Node("c3", "layer.conv2d", {"out_channels": 8, "padding": 1}, shares="c2")
    g.edges.append(wire("d.x -> c3.in"))
    d = next(d for d in check(g) if d.node == "c3" and d.param == "shares")
    assert d.message == "shares c2, which itself shares c1: make c3 share c1 directly"


def test_shares_with_inputs_of_another_size():
    g = _tied("c1")
    g.edges = [e for e in g.edges if e.dst != "c2"] + [wire("r1.out -> c2.in")]
    g.nodes["c2"].params = {"out_channels": 8, "padding": 1}
    d = next(d for d in check(g) if d.node == "c2" and d.param == "shares")
    assert "in is [B,8,8,8] while at c1 in is [B,1,8,8]" in d.message


# --- shapes -----------------------------------------------------------------------------------

def test_concat_mismatch_in_the_users_terms():
    g = make({"a": ("data.shapes", {"size": 14}), "b": ("data.shapes", {"size": 28}),
              "ca": ("layer.conv2d", {"out_channels": 16, "padding": 1}),
              "cb": ("layer.conv2d", {"out_channels": 32, "padding": 1, "stride": 4}),
              "c1": "merge.concat"},
             ["a.x -> ca.in", "b.x -> cb.in", "ca.out -> c1.in0", "cb.out -> c1.in1"])
    d = one(g, "c1")
    assert d.port == "in1"
    assert d.message == ("merge.concat c1: in1 is [B,32,7,7] but in0 is [B,16,14,14]; "
                         "all dims but 1 must match")


def test_conv_on_vectors_says_add_a_reshape():
    g = make({"z": ("data.noise", {"dim": 10}), "conv1": "layer.conv2d"}, ["z.z -> conv1.in"])
    d = one(g, "conv1")
    assert d.message == ("layer.conv2d conv1 expects feature maps [B,C,H,W] but in is [B,10]: "
                         "add a layer.reshape before it")


def test_mse_refuses_shapes_torch_would_broadcast():
    g = make({"z": ("data.noise", {"dim": 3}), "fc": ("layer.linear", {"out_features": 1}),
              "t": ("data.noise", {"dim": 1}), "flat": ("layer.reshape", {"shape": [1]}),
              "l": "loss.mse", "sq": ("layer.reshape", {"shape": [1, 1]})},
             ["z.z -> fc.in", "fc.out -> l.pred", "t.z -> sq.in", "sq.out -> l.target"])
    d = one(g, "l")
    assert d.message == ("loss.mse l: pred is [B,1] but target is [B,1,1]; the shapes must "
                         "match (mse would broadcast them)")


def test_labels_into_a_float_layer():
    g = make({"d": "data.digits", "fc": "layer.linear"}, ["d.y -> fc.in"])
    d = one(g, "fc")
    assert d.message == ("layer.linear fc expects float values but in is [B] int64 (class ids): "
                         "class ids cannot feed layers; wire them to a loss's target")


def test_attention_heads_must_divide_the_query_features():
    g = make({"d": "data.digits", "c": ("layer.conv2d", {"out_channels": 6, "padding": 1}),
              "att": ("merge.attention", {"heads": 4})},
             ["d.x -> c.in", "c.out -> att.query", "c.out -> att.value"])
    d = one(g, "att")
    assert d.port == "query"
    assert d.message == ("merge.attention att: heads is 4 but the query has 6 features; heads "
                         "must divide them (1, 2, 3 or 6)")


def test_cross_entropy_with_fewer_logits_than_classes():
    g = classifier()
    g.nodes["fc"].params["out_features"] = 5
    d = one(g, "ce")
    assert d.message == ("loss.cross_entropy ce: target has 10 classes but pred is [B,5], 5 "
                         "logits; give the layer before it 10 outputs")


def test_missing_data_file_names_the_node_and_path(tmp_path):
    g = make({"t": ("data.tensors", {"path": "absent.npz"})})
    g.base_dir = tmp_path
    d = next(d for d in check(g) if d.is_error)
    assert d.node == "t" and d.param == "path" and "absent.npz" in d.message


def test_data_file_present_gives_its_shapes(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 3), np.float32), y=np.zeros(5, np.int64))
    g = make({"t": ("data.tensors", {"path": "d.npz"}), "fc": "layer.linear"}, ["t.x -> fc.in"])
    g.base_dir = tmp_path
    assert str(infer(g).output("fc", "out")) == "[B,10]"


def test_problem_upstream_is_reported_once_where_it_is():
    g = classifier()
    g.nodes["p1"].params["kernel_size"] = 20  # larger than the 8x8 map
    errors = [d for d in check(g) if d.is_error]
    assert [d.node for d in errors] == ["p1"]
    assert "kernel_size 20 is larger than in's 8x8 map plus padding 0" in errors[0].message


# --- groups -----------------------------------------------------------------------------------

def test_loss_in_no_group_is_a_warning():
    g = classifier()
    g.groups[0].losses = []
    d = one(g, "ce", WARNING)
    assert "is in no group's losses" in d.message


def test_loss_listed_by_two_groups_is_an_error():
    g = classifier()
    g.groups.append(Group("g2", ["fc"], ["ce"]))
    d = one(g, "ce")
    assert d.message.startswith("is listed in the losses of groups g, g2; a loss belongs to at "
                                "most one group")


def test_non_loss_listed_as_a_loss():
    g = classifier()
    g.groups[0].losses.append("fc")
    d = one(g, "g")
    assert d.param == "losses" and "losses lists fc, a layer.linear, which is not a loss" in \
        d.message


def test_group_without_members_or_losses():
    g = classifier()
    g.groups.append(Group("empty"))
    messages = [d.message for d in about(g, "empty", ERROR)]
    assert messages == ["group empty has no members: add the nodes whose parameters it should "
                        "train", "group empty has no losses: add the loss nodes it should "
                        "minimise"]


def test_member_without_parameters_is_a_warning():
    g = classifier()
    g.groups[0].members.append("r1")
    d = one(g, "r1", WARNING)
    assert d.message == ("is a member of group g but has no parameters: nothing to train there; "
                         "remove it from members")


def test_parameters_in_no_group_stay_frozen():
    g = classifier()
    g.groups[0].members = ["fc"]
    d = one(g, "c1", WARNING)
    assert "stay frozen" in d.message


def test_node_reaching_no_loss_is_a_warning():
    g = classifier()
    g.nodes["extra"] = Node("extra", "layer.relu")
    g.edges.append(wire("fc.out -> extra.in"))
    d = one(g, "extra", WARNING)
    assert d.message.startswith("reaches no loss")


def test_schedule_offset_not_below_every_never_runs():
    g = classifier()
    g.groups[0].schedule = {"every": 2, "offset": 2, "epochs": [0, None], "repeat": 1}
    d = one(g, "g")
    assert d.param == "schedule" and "use an offset from 0 to 1" in d.message


def test_schedule_starting_after_the_last_epoch_is_a_warning():
    g = classifier()
    g.training.epochs = 3
    g.groups[0].schedule = {"every": 1, "offset": 0, "epochs": [3, None], "repeat": 1}
    d = one(g, "g", WARNING)
    assert d.message == ("schedule starts at epoch 3 but training runs epochs 0 to 2: group g "
                         "never updates in this run")


def test_group_settings_set_to_anything_are_reported():
    g = classifier()
    g.groups[0].optimizer = {"type": "adam", "lr": -1}
    d = one(g, "g")
    assert d.param == "optimizer" and d.message.startswith("optimizer.lr: expected a number > 0")


# --- gradient flow ----------------------------------------------------------------------------

def test_loss_cut_off_from_its_group_by_detach_is_an_error():
    g = classifier()
    g.nodes["det"] = Node("det", "op.detach")
    g.edges = [e for e in g.edges if e.dst != "f"] + [wire("p1.out -> det.in"),
                                                      wire("det.out -> f.in")]
    g.groups[0].members = ["c1"]
    g.groups.append(Group("head", ["fc"], []))
    d = one(g, "ce")
    assert d.message.startswith("is a loss of group g, but op.detach det stops the gradient on "
                                "the way: g can never learn from it")


def test_gan_without_detach_hints_where_to_detach():
    d = one(gan(detach=False), "d_fake", HINT)
    assert d.message == ("the gradient of d_fake also flows into g_fc, which only group gen "
                         "trains: an op.detach after g_img (on its wire to df_flat) saves that "
                         "work, as in a GAN's discriminator step")


def test_generator_loss_through_the_discriminator_gets_no_hint():
    assert about(gan(detach=False), "g_loss") == []


# --- order and inputs -------------------------------------------------------------------------

def test_diagnostics_come_in_file_order_and_are_deterministic():
    g = classifier()
    g.nodes["fc"].params["bogus"] = 1
    g.nodes["c1"].params["bogus"] = 1
    g.groups.append(Group("empty"))
    first = check(g)
    assert [d.node for d in first] == ["c1", "fc", "empty", "empty"]
    assert check(g) == first


def test_shapes_given_are_used_instead_of_inferring_again():
    g = classifier()
    shapes = infer(g)
    shapes.problems.append(ShapeProblem("fc", None, "seen"))
    assert [d.message for d in check(g, shapes)] == ["seen"]


# --- per-type rules, each through check() -----------------------------------------------------

MAP = ("data.shapes", {"size": 8})  # x [B,1,8,8], y [B] 3 classes, box [B,4]
RULES = [
    ("layer.reshape", {"shape": [3, 3]}, ["s.x -> n.in"],
     "layer.reshape n: in is [B,1,8,8], 64 values per sample, but shape [B,3,3] holds 9; the "
     "counts must be equal"),
    ("layer.maxpool2d", {"kernel_size": 2, "padding": 2}, ["s.x -> n.in"],
     "layer.maxpool2d n: padding is 2 but it can be at most half of kernel_size (2 // 2 = 1)"),
    ("layer.softmax", {"dim": 3}, ["s.box -> n.in"],
     "layer.softmax n: dim is 3 but in is [B,4] with 2 dims; choose a dim from 1 to 1"),
    ("layer.batchnorm1d", {}, ["s.x -> n.in"],
     "layer.batchnorm1d n expects vectors [B,F] or sequences [B,C,L] but in is [B,1,8,8]: use "
     "layer.batchnorm2d for feature maps"),
    ("layer.conv_transpose2d", {"stride": 2, "output_padding": 2}, ["s.x -> n.in"],
     "layer.conv_transpose2d n: output_padding is 2 but it must be smaller than stride (2)"),
    ("layer.conv2d", {"kernel_size": 3, "dilation": 4}, ["s.x -> n.in"],
     "layer.conv2d n: kernel_size 3 with dilation 4 (9 wide) is larger than in's 8x8 map plus "
     "padding 0: use a smaller kernel_size or dilation, or fewer poolings before it"),
    ("merge.add", {}, ["s.x -> n.in0", "s.box -> n.in1"],
     "merge.add n: in1 is [B,4] but in0 is [B,1,8,8]; the shapes must match (add would "
     "broadcast them)"),
    ("merge.multiply", {}, ["s.x -> n.in0", "s.box -> n.in1"],
     "merge.multiply n: in1 is [B,4] but in0 is [B,1,8,8]; shapes must match, or be 1 where "
     "they differ (a gate of size 1 may broadcast)"),
    ("merge.concat", {"dim": 3}, ["s.box -> n.in0", "s.box -> n.in1"],
     "merge.concat n: dim is 3 but in0 is [B,4] with 2 dims; choose a dim from 1 to 1"),
    ("merge.attention", {}, ["s.x -> n.query", "s.x -> n.value", "s.box -> n.key"],
     "merge.attention n: key is [B,4] (1 positions) but value is [B,1,8,8] (64); key and value "
     "need as many positions"),
    ("op.roi_align", {}, ["s.x -> n.features", "s.y -> n.boxes"],
     "op.roi_align n expects boxes [B,4] (x0,y0,x1,y1) but boxes is [B] int64 (class ids): "
     "class ids cannot feed layers; wire them to a loss's target"),
    ("loss.cross_entropy", {}, ["s.x -> n.pred", "s.y -> n.target"],
     "loss.cross_entropy n expects logits [B,classes] at pred but pred is [B,1,8,8]: add a "
     "layer.flatten and a layer.linear before it"),
    ("loss.cross_entropy", {}, ["s.box -> n.pred", "s.box -> n.target"],
     "loss.cross_entropy n expects class ids [B] int64 but target is [B,4]: wire a data node's "
     "y (labels) here"),
    ("loss.bce_logits", {}, ["s.box -> n.pred", "s.x -> n.target"],
     "loss.bce_logits n: pred is [B,4] but target is [B,1,8,8]; the shapes must match"),
    ("layer.relu", {}, ["l.loss -> n.in"],
     "layer.relu n expects float values but in is a scalar loss: a loss feeds no node; list it "
     "in an optimiser group's losses instead"),
]


@pytest.mark.parametrize("type_id, params, wires, message", RULES,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(RULES)])
def test_type_rules_speak_the_users_terms(type_id, params, wires, message):
    g = make({"s": MAP, "z": ("data.noise", {"dim": 4}), "l": "loss.mse",
              "n": (type_id, params)}, ["z.z -> l.pred", "s.box -> l.target", *wires])
    errors = [d for d in check(g) if d.is_error and d.node == "n"]
    assert [d.message for d in errors] == [message]


def test_group_whose_members_have_no_parameters_has_nothing_to_train():
    g = classifier()
    g.groups[0].members = ["r1", "f"]
    d = one(g, "g")
    assert d.message == ("none of the members of group g (r1, f) has parameters: it has "
                         "nothing to train")
    assert about(g, "r1") == [] and about(g, "f") == []  # one error says it all


def test_group_listing_an_unknown_node():
    g = classifier()
    g.groups[0].members.append("ghost")
    d = one(g, "g")
    assert d.param == "members" and d.message == "members lists 'ghost', which is not a node: " \
        "remove it"


def test_loss_depending_on_none_of_its_groups_members():
    g = classifier()
    g.nodes["c2"] = Node("c2", "layer.conv2d", {"out_channels": 8, "padding": 1})
    g.edges.append(wire("d.x -> c2.in"))
    g.groups[0].members = ["c2"]
    d = one(g, "ce")
    assert d.message.startswith("is a loss of group g, but it depends on none of g's members: "
                                "g can never learn from it")


def test_graph_without_any_loss_says_so_once():
    g = make({"z": ("data.noise", {"dim": 4}), "r": "layer.relu"}, ["z.z -> r.in"])
    assert [(d.node, d.message) for d in check(g)] == [
        (None, "the graph has no loss node: nothing can train; add a loss.* node and list it in "
               "a group's losses")]


def test_empty_graph_is_clean():
    from composer.graph import Graph

    assert check(Graph()) == []
