"""Small graphs for tests, written as compactly as a reader can take in at a glance."""

from __future__ import annotations

from typing import Any

from composer.graph import Edge, Graph, Group, Node


def wire(text: str) -> Edge:
    """`"a.out -> b.in"` as an Edge."""
    src, dst = (side.strip() for side in text.split("->"))
    (s, sp), (d, dp) = src.split("."), dst.split(".")
    return Edge(s, sp, d, dp)


def make(nodes: dict[str, Any], wires: list[str] = (),
         groups: dict[str, tuple[list[str], list[str]]] | None = None) -> Graph:
    """nodes: id -> type or (type, params) or (type, params, shares)."""
    graph = Graph("test")
    for node_id, spec in nodes.items():
        spec = (spec,) if isinstance(spec, str) else tuple(spec)
        type_id, params, shares = spec + ({}, None)[len(spec) - 1:]
        graph.nodes[node_id] = Node(node_id, type_id, dict(params or {}), shares=shares)
    graph.edges = [wire(w) for w in wires]
    for group_id, (members, losses) in (groups or {}).items():
        graph.groups.append(Group(group_id, list(members), list(losses)))
    return graph


def classifier() -> Graph:
    """Digits -> conv -> relu -> pool -> flatten -> linear -> cross-entropy; one group."""
    return make(
        {"d": "data.digits", "c1": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
         "r1": "layer.relu", "p1": "layer.maxpool2d", "f": "layer.flatten",
         "fc": ("layer.linear", {"out_features": 10}), "ce": "loss.cross_entropy"},
        ["d.x -> c1.in", "c1.out -> r1.in", "r1.out -> p1.in", "p1.out -> f.in",
         "f.out -> fc.in", "fc.out -> ce.pred", "d.y -> ce.target"],
        {"g": (["c1", "fc"], ["ce"])})


def gan(detach: bool = True) -> Graph:
    """A generator and a discriminator applied (tied weights) to real and fake images."""
    nodes = {
        "z": ("data.noise", {"dim": 16}), "d": "data.digits",
        "g_fc": ("layer.linear", {"out_features": 64}), "g_out": "layer.sigmoid",
        "g_img": ("layer.reshape", {"shape": [1, 8, 8]}),
        "det": "op.detach",
        "dr_flat": "layer.flatten", "dr_fc": ("layer.linear", {"out_features": 1}),
        "df_flat": "layer.flatten", "df_fc": ("layer.linear", {"out_features": 1}, "dr_fc"),
        "dg_flat": "layer.flatten", "dg_fc": ("layer.linear", {"out_features": 1}, "dr_fc"),
        "d_real": "loss.bce_logits", "d_fake": ("loss.bce_logits", {"target_value": 0.0}),
        "g_loss": "loss.bce_logits",
    }
    wires = ["z.z -> g_fc.in", "g_fc.out -> g_out.in", "g_out.out -> g_img.in",
             "d.x -> dr_flat.in", "dr_flat.out -> dr_fc.in", "dr_fc.out -> d_real.pred",
             "df_flat.out -> df_fc.in", "df_fc.out -> d_fake.pred",
             "g_img.out -> dg_flat.in", "dg_flat.out -> dg_fc.in", "dg_fc.out -> g_loss.pred"]
    if detach:
        wires += ["g_img.out -> det.in", "det.out -> df_flat.in"]
    else:
        del nodes["det"]
        wires += ["g_img.out -> df_flat.in"]
    return make(nodes, wires, {"disc": (["dr_fc"], ["d_real", "d_fake"]),
                               "gen": (["g_fc"], ["g_loss"])})
