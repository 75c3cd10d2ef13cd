"""Writes the small graphs (and their data files) that the training tests run besides the
samples: together they use every data source but image folders (which need Pillow), every
optimiser, LR schedule and augmentation op, and schedules with every/offset, epoch windows,
repeat and gradient clipping. Run: `.venv/bin/python tests/graphs/make_test_graphs.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from composer.fileformat import save  # noqa: E402
from composer.graph import Edge, Graph, Group, Node, Training  # noqa: E402


def build(name: str, nodes: dict, wires: list[str], groups: list[Group],
          training: Training) -> Graph:
    g = Graph(name, "A test graph.")
    for node_id, spec in nodes.items():
        type_id, params = spec if isinstance(spec, tuple) else (spec, {})
        g.nodes[node_id] = Node(node_id, type_id, params)
    for w in wires:
        (s, sp), (d, dp) = (side.strip().split(".") for side in w.split("->"))
        g.edges.append(Edge(s, sp, d, dp))
    g.groups = groups
    g.training = training
    return g


def shapes_graph() -> Graph:
    augment = [{"op": "random_shift", "pixels": 1}, {"op": "hflip", "p": 0.5},
               {"op": "vflip", "p": 0.5}, {"op": "gaussian_noise", "std": 0.05},
               {"op": "random_rotate", "degrees": 10.0}]
    nodes = {"s": ("data.shapes", {"size": 16, "count": 240, "batch_size": 16,
                                   "augment": augment}),
             "c": ("block.conv_bn_relu", {"out_channels": 8}),
             "res": ("block.residual", {"out_channels": 8, "stride": 2}),
             "gap": ("layer.adaptive_avgpool2d", {"output_size": 2}), "f": "layer.flatten",
             "drop": ("layer.dropout", {"p": 0.2}), "cls": ("layer.linear", {"out_features": 3}),
             "ce": ("loss.cross_entropy", {"label_smoothing": 0.1}),
             "boxfc": ("layer.linear", {"out_features": 4}), "boxs": "layer.sigmoid",
             "bl": ("loss.smooth_l1", {"beta": 0.5})}
    wires = ["s.x -> c.in", "c.out -> res.in", "res.out -> gap.in", "gap.out -> f.in",
             "f.out -> drop.in", "drop.out -> cls.in", "cls.out -> ce.pred", "s.y -> ce.target",
             "f.out -> boxfc.in", "boxfc.out -> boxs.in", "boxs.out -> bl.pred",
             "s.box -> bl.target"]
    groups = [
        Group("classify", ["c", "res", "cls"], ["ce"],
              {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
              lr_schedule={"type": "step", "step_size": 5, "gamma": 0.5}, clip_grad_norm=1.0),
        Group("boxes", ["boxfc"], ["bl"], {"type": "rmsprop", "lr": 0.01},
              schedule={"every": 2, "offset": 1, "epochs": [0, None], "repeat": 1},
              lr_schedule={"type": "exponential", "gamma": 0.9}),
    ]
    return build("Shapes: SGD and RMSprop", nodes, wires, groups,
                 Training(epochs=3, seed=3, steps_per_epoch=8))


def tensors_graph() -> Graph:
    nodes = {"t": ("data.tensors", {"path": "data/vectors.npz", "batch_size": 16,
                                    "split": [0.7, 0.2, 0.1]}),
             "bn": "layer.batchnorm1d", "fc1": ("layer.linear", {"out_features": 16}),
             "act": "layer.gelu", "ln": "layer.layernorm",
             "fc2": ("layer.linear", {"out_features": 3}), "ce": "loss.cross_entropy",
             "p": ("data.tensors", {"path": "data/maps.pt", "x_key": "img", "y_key": "target",
                                    "batch_size": 8}),
             "up": ("layer.conv_transpose2d", {"out_channels": 2}),
             "pool": "layer.avgpool2d",
             "ups": ("layer.upsample", {"mode": "bilinear"}),
             "mp": ("layer.maxpool2d", {"kernel_size": 3, "stride": 3}),
             "fl": "layer.flatten", "head": ("layer.linear", {"out_features": 2}),
             "th": "layer.tanh", "l1": "loss.l1"}
    wires = ["t.x -> bn.in", "bn.out -> fc1.in", "fc1.out -> act.in", "act.out -> ln.in",
             "ln.out -> fc2.in", "fc2.out -> ce.pred", "t.y -> ce.target",
             "p.x -> up.in", "up.out -> pool.in", "pool.out -> ups.in", "ups.out -> mp.in",
             "mp.out -> fl.in", "fl.out -> head.in", "head.out -> th.in", "th.out -> l1.pred",
             "p.y -> l1.target"]
    groups = [
        Group("vectors", ["bn", "fc1", "ln", "fc2"], ["ce"], {"type": "adamw", "lr": 0.01},
              lr_schedule={"type": "warmup_cosine", "warmup_steps": 3}),
        Group("maps", ["up", "head"], ["l1"],
              {"type": "adam", "lr": 0.005, "weight_decay": 0.0001},
              schedule={"every": 1, "offset": 0, "epochs": [1, None], "repeat": 2},
              lr_schedule={"type": "cosine", "min_lr": 0.0001}),
    ]
    return build("Tensors: AdamW and Adam", nodes, wires, groups,
                 Training(epochs=4, seed=1, steps_per_epoch=6))


def noise_graph() -> Graph:
    nodes = {"z": ("data.noise", {"dim": 8, "batch_size": 32}),
             "enc": ("layer.linear", {"out_features": 4}),
             "act": ("layer.leaky_relu", {"negative_slope": 0.1}),
             "dec": ("layer.linear", {"out_features": 8}), "mse": "loss.mse"}
    wires = ["z.z -> enc.in", "enc.out -> act.in", "act.out -> dec.in", "dec.out -> mse.pred",
             "z.z -> mse.target"]
    return build("Noise autoencoder", nodes, wires,
                 [Group("ae", ["enc", "dec"], ["mse"], {"type": "adam", "lr": 0.01})],
                 Training(epochs=1, seed=0))


def data_files() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    x = rng.normal(size=(200, 12)) + y[:, None] * 0.8
    np.savez(HERE / "data" / "vectors.npz", x=x.astype(np.float32), y=y)
    img = torch.from_numpy(rng.uniform(size=(120, 1, 6, 6)).astype(np.float32))
    target = torch.stack([img.mean((1, 2, 3)) * 2 - 1, img[:, 0, :3].mean((1, 2)) - 0.5], 1)
    torch.save({"img": img, "target": target}, HERE / "data" / "maps.pt")


if __name__ == "__main__":
    data_files()
    save(shapes_graph(), HERE / "shapes_sgd_rmsprop.graph.json")
    save(tensors_graph(), HERE / "tensors_adamw_adam.graph.json")
    save(noise_graph(), HERE / "noise_autoencoder.graph.json")
