"""Graphs with networks for the editor's tests, read through the file format (so they are
exactly what a file holds)."""

from __future__ import annotations

from composer import fileformat
from composer.graph import Graph

DISCRIMINATOR = {
    "description": "Scores an 8x8 image: real (high) or generated (low).",
    "params": {"width": {"default": 32, "sets": ["fc1.out_features"]}},
    "inputs": {"image": ["flat.in"]},
    "outputs": {"logit": "fc2.out"},
    "nodes": [
        {"id": "flat", "type": "layer.flatten", "ui": {"pos": [40, 40]}},
        {"id": "fc1", "type": "layer.linear", "params": {"out_features": 32},
         "ui": {"pos": [280, 40]}},
        {"id": "act", "type": "layer.leaky_relu", "params": {"negative_slope": 0.2},
         "ui": {"pos": [520, 40]}},
        {"id": "drop", "type": "layer.dropout", "params": {"p": 0.3}, "ui": {"pos": [760, 40]}},
        {"id": "fc2", "type": "layer.linear", "params": {"out_features": 1},
         "ui": {"pos": [1000, 40]}},
    ],
    "edges": [{"from": "flat.out", "to": "fc1.in"}, {"from": "fc1.out", "to": "act.in"},
              {"from": "act.out", "to": "drop.in"}, {"from": "drop.out", "to": "fc2.in"}],
}


def _node(node_id: str, type_id: str, x: float, y: float, **extra) -> dict:
    return {"id": node_id, "type": type_id, "ui": {"pos": [x, y]}, **extra}


def gan_with_network(discriminator: dict | None = None) -> Graph:
    """A GAN whose discriminator is one network with three tied instances: on real digits,
    on detached fakes, and on fakes for the generator's loss."""
    nodes = [
        _node("z", "data.noise", 0, 0, params={"dim": 16}),
        _node("digits", "data.digits", 0, 300),
        _node("g_fc", "layer.linear", 240, 0, params={"out_features": 64}),
        _node("g_out", "layer.sigmoid", 480, 0),
        _node("g_img", "layer.reshape", 720, 0),
        _node("det", "op.detach", 960, 0),
        _node("d_real", "net.Discriminator", 1200, 300),
        _node("d_fake", "net.Discriminator", 1200, 0, shares="d_real"),
        _node("d_for_g", "net.Discriminator", 1200, 150, shares="d_real"),
        _node("real_loss", "loss.bce_logits", 1440, 300),
        _node("fake_loss", "loss.bce_logits", 1440, 0, params={"target_value": 0.0}),
        _node("g_loss", "loss.bce_logits", 1440, 150),
    ]
    wires = ["z.z -> g_fc.in", "g_fc.out -> g_out.in", "g_out.out -> g_img.in",
             "g_img.out -> det.in", "digits.x -> d_real.image", "det.out -> d_fake.image",
             "g_img.out -> d_for_g.image", "d_real.logit -> real_loss.pred",
             "d_fake.logit -> fake_loss.pred", "d_for_g.logit -> g_loss.pred"]
    groups = [{"id": "disc", "members": ["d_real"], "losses": ["real_loss", "fake_loss"]},
              {"id": "gen", "members": ["g_fc"], "losses": ["g_loss"]}]
    return fileformat.from_dict({
        "format": "composer-graph", "version": 2, "name": "GAN with a network",
        "networks": {"Discriminator": discriminator or DISCRIMINATOR},
        "nodes": nodes,
        "edges": [{"from": w.split(" -> ")[0], "to": w.split(" -> ")[1]} for w in wires],
        "groups": groups, "training": {"epochs": 1, "steps_per_epoch": 2}})
