"""The graph diff: one readable line per difference that changes how a graph trains, in a
fixed order; positions and colours are never differences."""

from __future__ import annotations

from composed_graphs import multitask
from network_graphs import gan_with_network

from composer.graph import Edge, Node
from composer.graph_diff import diff_graphs


def test_the_same_graph_moved_and_recoloured_has_no_differences():
    a = gan_with_network()
    b = a.copy()
    for node in b.nodes.values():
        node.ui["pos"] = [7, 7]
    b.groups[0].ui["color"] = "#000000"
    b.networks["Discriminator"].graph.nodes["fc1"].ui["pos"] = [0, 0]
    b.ui["zoom"] = 2
    assert diff_graphs(a, b) == []


def test_a_parameter_written_at_its_default_equals_the_default_left_out():
    a = multitask()
    b = a.copy()
    b.nodes["t1"].params["stride"] = 1  # conv2d's default
    assert diff_graphs(a, b) == []


def test_each_kind_of_change_is_one_line_in_a_fixed_order():
    a = multitask()
    b = a.copy()
    b.training.epochs = 5
    b.nodes["t4"].params["out_features"] = 16
    b.nodes["mse"].params["weight"] = 2.0
    b.nodes["t1"].label = "first conv"
    del b.nodes["b3"]
    b.edges = [e for e in b.edges if "b3" not in (e.src, e.dst)]
    b.nodes["drop"] = Node("drop", "layer.dropout", {"p": 0.2})
    b.edges.append(Edge("b2", "out", "mse", "pred"))
    b.groups[0].optimizer["lr"] = 0.0002
    b.groups[0].members.remove("b1")
    b.groups[0].schedule["every"] = 2
    b.groups[0].clip_grad_norm = 1.0
    assert diff_graphs(a, b) == [
        "training: epochs 2 -> 5",
        'node t1: label none -> "first conv"',
        "node t4: out_features 32 -> 16",
        "node b3: removed (layer.sigmoid)",
        "node mse: weight 0.5 -> 2.0",
        "node drop: added (layer.dropout)",
        "edge b2.out -> b3.in: removed",
        "edge b3.out -> mse.pred: removed",
        "edge b2.out -> mse.pred: added",
        "group joint: member b1 removed",
        "group joint: lr 0.001 -> 0.0002",
        "group joint: schedule.every 1 -> 2",
        "group joint: clip_grad_norm none -> 1.0",
    ]
    assert diff_graphs(b, a)[0] == "training: epochs 5 -> 2"  # and back, from the other side


def test_optimiser_and_lr_schedule_changes_name_their_arguments():
    a = multitask()
    b = a.copy()
    b.groups[0].optimizer = {"type": "sgd", "lr": 0.1, "momentum": 0.9}
    b.groups[0].lr_schedule = {"type": "step", "step_size": 3}
    lines = diff_graphs(a, b)
    assert "group joint: optimizer adam -> sgd" in lines
    assert "group joint: lr 0.001 -> 0.1" in lines
    assert "group joint: momentum (unset) -> 0.9" in lines
    assert "group joint: lr_schedule.type constant -> step" in lines
    assert "group joint: lr_schedule.gamma (unset) -> 0.1" in lines  # the default it now takes


def test_a_networks_inside_is_named_by_network_and_node():
    a = gan_with_network()
    b = a.copy()
    inner = b.networks["Discriminator"].graph
    inner.nodes["fc1"].params["out_features"] = 128
    inner.nodes["drop"].params["p"] = 0.5
    b.networks["Discriminator"].params["width"].default = 64
    b.nodes["d_fake"].shares = None
    assert diff_graphs(a, b) == [  # instances that take the default get the new one
        "node d_real: width 32 -> 64",
        "node d_fake: width 32 -> 64",
        "node d_fake: shares d_real -> none",
        "node d_for_g: width 32 -> 64",
        "network Discriminator: params.width.default 32 -> 64",
        "network Discriminator, node fc1: out_features 32 -> 128",
        "network Discriminator, node drop: p 0.3 -> 0.5",
    ]


def test_groups_and_networks_added_and_removed():
    a = gan_with_network()
    b = a.copy()
    b.groups = [g for g in b.groups if g.id != "gen"]
    c = a.copy()
    c.networks.clear()
    assert diff_graphs(a, b) == ["group gen: removed"]
    assert diff_graphs(b, a) == ["group gen: added (g_loss)"]
    assert diff_graphs(a, c)[-1] == "network Discriminator: removed"
