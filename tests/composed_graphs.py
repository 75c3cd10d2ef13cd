"""Graphs the code-generation and training tests build, each next to what it stands for."""

from __future__ import annotations

from typing import Any

from composer.graph import Edge, Graph, Group, Node, Training


def graph(nodes: dict[str, Any], wires: list[str], groups: list[Group] = (),
          steps_per_epoch: int | None = None, seed: int = 0) -> Graph:
    """nodes: id -> type, or (type, params), or (type, params, shares)."""
    g = Graph("test")
    for node_id, spec in nodes.items():
        spec = (spec,) if isinstance(spec, str) else tuple(spec)
        type_id, params, shares = spec + ({}, None)[len(spec) - 1:]
        g.nodes[node_id] = Node(node_id, type_id, dict(params), shares=shares)
    for w in wires:
        (s, sp), (d, dp) = (side.strip().split(".") for side in w.split("->"))
        g.edges.append(Edge(s, sp, d, dp))
    g.groups = list(groups)
    g.training = Training(epochs=2, seed=seed, device="cpu", steps_per_epoch=steps_per_epoch)
    return g


def hierarchical() -> Graph:
    """A conv feature extractor feeding an MLP classifier, trained end to end."""
    return graph(
        {"d": "data.digits", "e1": ("block.conv_bn_relu", {"out_channels": 8}),
         "e2": "layer.maxpool2d", "e3": ("layer.conv2d", {"out_channels": 16, "padding": 1}),
         "e4": "layer.relu", "e5": "layer.flatten", "c1": ("layer.linear", {"out_features": 32}),
         "c2": "layer.relu", "c3": ("layer.linear", {"out_features": 10}),
         "ce": "loss.cross_entropy"},
        ["d.x -> e1.in", "e1.out -> e2.in", "e2.out -> e3.in", "e3.out -> e4.in",
         "e4.out -> e5.in", "e5.out -> c1.in", "c1.out -> c2.in", "c2.out -> c3.in",
         "c3.out -> ce.pred", "d.y -> ce.target"],
        [Group("all", ["e1", "e3", "c1", "c3"], ["ce"])])


def multitask(optimizer: dict | None = None) -> Graph:
    """A shared trunk with a classification head and a weighted reconstruction head."""
    return graph(
        {"d": "data.digits", "t1": ("layer.conv2d", {"out_channels": 8, "padding": 1}),
         "t2": "layer.relu", "t3": "layer.flatten", "t4": ("layer.linear", {"out_features": 32}),
         "t5": "layer.relu", "a1": ("layer.linear", {"out_features": 10}),
         "ce": "loss.cross_entropy", "b1": ("layer.linear", {"out_features": 64}),
         "b2": ("layer.reshape", {"shape": [1, 8, 8]}), "b3": "layer.sigmoid",
         "mse": ("loss.mse", {"weight": 0.5})},
        ["d.x -> t1.in", "t1.out -> t2.in", "t2.out -> t3.in", "t3.out -> t4.in",
         "t4.out -> t5.in", "t5.out -> a1.in", "a1.out -> ce.pred", "d.y -> ce.target",
         "t5.out -> b1.in", "b1.out -> b2.in", "b2.out -> b3.in", "b3.out -> mse.pred",
         "d.x -> mse.target"],
        [Group("joint", ["t1", "t4", "a1", "b1"], ["ce", "mse"],
               optimizer or {"type": "adam", "lr": 0.001})])


def gan(detach: bool = True) -> Graph:
    """Generator and discriminator; the discriminator is one module applied three times."""
    nodes = {
        "z": ("data.noise", {"dim": 16}), "d": "data.digits",
        "g1": ("layer.linear", {"out_features": 32}), "g2": "layer.relu",
        "g3": ("layer.linear", {"out_features": 64}), "g4": "layer.sigmoid",
        "g5": ("layer.reshape", {"shape": [1, 8, 8]}), "det": "op.detach",
        "r1": "layer.flatten", "r2": ("layer.linear", {"out_features": 32}),
        "r3": ("layer.leaky_relu", {"negative_slope": 0.2}),
        "r4": ("layer.linear", {"out_features": 1}),
        "f1": "layer.flatten", "f2": ("layer.linear", {"out_features": 32}, "r2"),
        "f3": ("layer.leaky_relu", {"negative_slope": 0.2}),
        "f4": ("layer.linear", {"out_features": 1}, "r4"),
        "q1": "layer.flatten", "q2": ("layer.linear", {"out_features": 32}, "r2"),
        "q3": ("layer.leaky_relu", {"negative_slope": 0.2}),
        "q4": ("layer.linear", {"out_features": 1}, "r4"),
        "d_real": "loss.bce_logits", "d_fake": ("loss.bce_logits", {"target_value": 0.0}),
        "g_loss": "loss.bce_logits",
    }
    fake = ["g5.out -> det.in", "det.out -> f1.in"] if detach else ["g5.out -> f1.in"]
    wires = ["z.z -> g1.in", "g1.out -> g2.in", "g2.out -> g3.in", "g3.out -> g4.in",
             "g4.out -> g5.in", *fake, "d.x -> r1.in", "r1.out -> r2.in", "r2.out -> r3.in",
             "r3.out -> r4.in", "r4.out -> d_real.pred", "f1.out -> f2.in", "f2.out -> f3.in",
             "f3.out -> f4.in", "f4.out -> d_fake.pred", "g5.out -> q1.in", "q1.out -> q2.in",
             "q2.out -> q3.in", "q3.out -> q4.in", "q4.out -> g_loss.pred"]
    if not detach:
        del nodes["det"]
    return graph(nodes, wires, [Group("disc", ["r2", "r4"], ["d_real", "d_fake"]),
                                Group("gen", ["g1", "g3"], ["g_loss"])])


def chain(groups: list[Group], steps_per_epoch: int | None = 4, detach: bool = False,
          seed: int = 0) -> Graph:
    """Digits -> a -> [detach] -> b -> cross-entropy; c is a head nobody trains."""
    mid = ["a.out -> det.in", "det.out -> b.in"] if detach else ["a.out -> b.in"]
    nodes = {"d": "data.digits", "f": "layer.flatten",
             "a": ("layer.linear", {"out_features": 16}), "det": "op.detach",
             "b": ("layer.linear", {"out_features": 10}), "ce": "loss.cross_entropy",
             "c": ("layer.linear", {"out_features": 10}), "ce2": "loss.cross_entropy"}
    if not detach:
        del nodes["det"]
    return graph(nodes, ["d.x -> f.in", "f.out -> a.in", *mid, "b.out -> ce.pred",
                         "d.y -> ce.target", "a.out -> c.in", "c.out -> ce2.pred",
                         "d.y -> ce2.target"], groups, steps_per_epoch, seed)


SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def single_threaded_torch():
    """Runs the body with one torch thread: on a busy machine, a second thread waiting for a
    core costs far more than it saves on these small graphs. Numbers are the same either way
    within a process; subprocesses get SINGLE_THREAD_ENV so all paths compute alike."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
