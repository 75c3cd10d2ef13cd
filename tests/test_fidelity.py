"""The compiled module computes exactly what the same network written by hand in PyTorch
computes: outputs and gradients, to 1e-6, for a hierarchical, a multi-task and a GAN graph."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from composed_graphs import gan, hierarchical, multitask, single_threaded_torch
from torch import nn
from torch.testing import assert_close

import composer
from composer.generate.compile import graph_program


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


TOL = {"atol": 1e-6, "rtol": 1e-6}


def digits_batch(rows: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(rows, 1, 8, 8, generator=g), torch.randint(0, 10, (rows,), generator=g)


def copy_weights(hand: nn.Module, compiled: nn.Module) -> None:
    state = compiled.state_dict()
    hand.load_state_dict({k: state[k] for k in hand.state_dict()})


def assert_same_grads(hand: nn.Module, compiled: nn.Module) -> None:
    theirs = dict(compiled.named_parameters())
    for name, p in hand.named_parameters():
        assert p.grad is not None, name
        assert_close(theirs[name].grad, p.grad, **TOL, msg=name)


class Hierarchical(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.e1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                nn.ReLU())
        self.e3 = nn.Conv2d(8, 16, 3, padding=1)
        self.c1 = nn.Linear(256, 32)
        self.c3 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.flatten(F.relu(self.e3(F.max_pool2d(self.e1(x), 2))), 1)
        logits = self.c3(F.relu(self.c1(features)))
        return logits, F.cross_entropy(logits, y)


def test_hierarchical_graph_matches_hand_written_outputs_and_gradients():
    model = composer.compile(hierarchical())
    hand = Hierarchical()
    copy_weights(hand, model)
    x, y = digits_batch()
    out = model({"d.x": x, "d.y": y}, outputs=["c3.out", "ce.loss"])
    logits, loss = hand(x, y)
    assert_close(out["c3.out"], logits, **TOL)
    assert_close(out["ce.loss"], loss, **TOL)
    out["ce.loss"].backward()
    loss.backward()
    assert_same_grads(hand, model)
    # batch norm's running statistics moved the same way too
    assert_close(model.e1[1].running_mean, hand.e1[1].running_mean, **TOL)


class MultiTask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.t1 = nn.Conv2d(1, 8, 3, padding=1)
        self.t4 = nn.Linear(512, 32)
        self.a1 = nn.Linear(32, 10)
        self.b1 = nn.Linear(32, 64)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        trunk = F.relu(self.t4(torch.flatten(F.relu(self.t1(x)), 1)))
        ce = F.cross_entropy(self.a1(trunk), y)
        mse = F.mse_loss(torch.sigmoid(self.b1(trunk).reshape(-1, 1, 8, 8)), x)
        return ce, mse


def test_multitask_graph_matches_hand_written_outputs_and_gradients():
    model = composer.compile(multitask())
    hand = MultiTask()
    copy_weights(hand, model)
    x, y = digits_batch()
    out = model({"d.x": x, "d.y": y}, outputs=["ce.loss", "mse.loss"])
    ce, mse = hand(x, y)
    assert_close(out["ce.loss"], ce, **TOL)
    assert_close(out["mse.loss"], mse, **TOL)
    (out["ce.loss"] + 0.5 * out["mse.loss"]).backward()
    (ce + 0.5 * mse).backward()
    assert_same_grads(hand, model)


def test_one_training_step_equals_the_hand_written_step_on_the_same_batch():
    graph = multitask({"type": "sgd", "lr": 0.1})
    program = graph_program(graph)
    torch.manual_seed(graph.training.seed)  # the run seeds, then builds the model
    start = program.Model()
    batch = program.make_data(graph.training.seed, graph.base_dir)["d"].draw(0)
    hand = MultiTask()
    copy_weights(hand, start)
    ce, mse = hand(batch["d.x"], batch["d.y"])
    (ce + 0.5 * mse).backward()  # the group minimises sum of weight x loss
    with torch.no_grad():
        for p in hand.parameters():
            p -= 0.1 * p.grad
    run = composer.train(graph, steps=1)
    assert run.history[0]["loss"]["ce"] == ce.item()
    trained = dict(run.model.named_parameters())
    for name, p in hand.named_parameters():
        assert_close(trained[name], p, **TOL, msg=name)


class GAN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.g1, self.g3 = nn.Linear(16, 32), nn.Linear(32, 64)
        self.r2, self.r4 = nn.Linear(64, 32), nn.Linear(32, 1)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.g3(F.relu(self.g1(z)))).reshape(-1, 1, 8, 8)

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        return self.r4(F.leaky_relu(self.r2(torch.flatten(images, 1)), 0.2))


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_gan_graph_matches_hand_written_discriminator_and_generator_steps():
    model = composer.compile(gan())
    hand = GAN()
    copy_weights(hand, model)
    x, _ = digits_batch()
    z = torch.randn(16, 16, generator=torch.Generator().manual_seed(2))
    batch = {"d.x": x, "z.z": z}

    # the discriminator's step: real and (detached) fake
    out = model(batch, outputs=["d_real.loss", "d_fake.loss"])
    fake = hand.generate(z)
    d_real, d_fake = bce(hand.discriminate(x), 1.0), bce(hand.discriminate(fake.detach()), 0.0)
    assert_close(out["d_real.loss"], d_real, **TOL)
    assert_close(out["d_fake.loss"], d_fake, **TOL)
    (out["d_real.loss"] + out["d_fake.loss"]).backward()
    (d_real + d_fake).backward()
    for name in ("r2.weight", "r2.bias", "r4.weight", "r4.bias"):
        assert_close(model.get_parameter(name).grad, hand.get_parameter(name).grad, **TOL)
    assert model.g1.weight.grad is None and hand.g1.weight.grad is None  # detach held

    # the generator's step, through the same (tied) discriminator
    model.zero_grad(set_to_none=True)
    hand.zero_grad(set_to_none=True)
    out = model(batch, outputs=["g_loss.loss", "g5.out"])
    g_loss = bce(hand.discriminate(hand.generate(z)), 1.0)
    assert_close(out["g5.out"], hand.generate(z), **TOL)
    assert_close(out["g_loss.loss"], g_loss, **TOL)
    out["g_loss.loss"].backward()
    g_loss.backward()
    assert_same_grads(hand, model)
