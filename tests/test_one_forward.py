"""One forward where a hand-written loop does one: within a step, an output an earlier group
computed serves a later group while nothing it depends on has changed (docs/FORMAT.md,
"Training at scale"). The GAN's generator runs once per step, as in pytorch/examples' DCGAN."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import composer
from composer.generate.compile import graph_program
from composer.generate.program import program_source
from tests.conftest import SAMPLES
from tests.test_networks import gan_with_network

torch.set_num_threads(1)


def _batchnorms(model: nn.Module) -> dict[str, int]:
    return {name: int(m.num_batches_tracked) for name, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def test_the_dcgan_generator_runs_once_per_step_and_its_statistics_move_once():
    graph = composer.load(SAMPLES / "dcgan_color_digits.graph.json")
    result = composer.train(graph, steps=2)
    tracked = _batchnorms(result.model)
    assert {v for k, v in tracked.items() if k.startswith("generator.")} == {2}
    # the discriminator sees real images, detached fakes and fakes for G: three per step
    assert {v for k, v in tracked.items() if k.startswith("d_real.")} == {6}


def test_generated_code_says_what_is_reused_and_what_makes_it_stale():
    source = program_source(composer.load(SAMPLES / "gan_digits.graph.json"))
    assert 'self.needed = Needed(self.inputs, reusable=("g_img.out",))' in source
    assert '        g_img = batch.get("g_img.out")' in source
    assert 'reused={"g_img.out": ("gen",)},' in source


def test_nothing_is_reused_across_a_backward_that_went_through_it():
    data = gan_with_network()
    data["edges"] = [e for e in data["edges"] if e["to"] != "critic_fake.image"]
    data["edges"].append({"from": "g_img.out", "to": "critic_fake.image"})  # no detach
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "fake"]
    data["edges"] = [e for e in data["edges"] if e["to"] != "fake.in"]
    graph = composer.from_dict(data)
    assert 'reused=' not in program_source(graph)
    assert len(composer.train(graph).history) > 0


class Critic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.leaky_relu(self.fc1(torch.flatten(image, 1)), 0.2))


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_the_gan_trains_as_the_hand_written_loop_that_makes_each_fake_once():
    """pytorch/examples' DCGAN loop: D steps on real and detached fakes, then G steps on the
    same fakes through the updated D. Same weights, same batches: same losses, same weights."""
    graph = composer.from_dict(gan_with_network())
    steps = 6
    start = composer.train(graph, steps=0).model
    g = nn.Linear(8, 64)
    d = Critic()
    g.load_state_dict({k.removeprefix("g_fc."): v for k, v in start.state_dict().items()
                       if k.startswith("g_fc.")})
    d.load_state_dict({k.removeprefix("critic."): v for k, v in start.state_dict().items()
                       if k.startswith("critic.")})
    opt_d = torch.optim.Adam(d.parameters(), lr=0.001, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=0.001, betas=(0.5, 0.999))
    program = graph_program(graph)
    data = program.PROGRAM.make_data(graph.training.seed, Path("."))
    hand = []
    for k in range(steps):
        x = data["digits"].draw(k)["digits.x"]
        z = data["noise"].draw(k)["noise.z"]
        opt_d.zero_grad()
        fake = torch.sigmoid(g(z)).reshape(-1, 1, 8, 8)
        d_real, d_fake = bce(d(x), 1.0), bce(d(fake.detach()), 0.0)
        (d_real + d_fake).backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(d(fake), 1.0)
        g_loss.backward()
        opt_g.step()
        hand.append([d_real.item(), d_fake.item(), g_loss.item()])
    result = composer.train(graph, steps=steps)
    got = [[r["loss"][x] for x in ("d_real", "d_fake", "g_loss")]
           for r in result.history if "loss" in r]
    torch.testing.assert_close(torch.tensor(got), torch.tensor(hand), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.model.g_fc.weight, g.weight, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.model.critic.fc2.weight, d.fc2.weight, rtol=1e-5,
                               atol=1e-6)


def test_nothing_is_reused_whose_graph_an_earlier_backward_went_through_upstream():
    """The discriminator's group also judges the generator's hidden layer (no detach there):
    its backward goes through the graph the fakes hang from and frees it, so the generator's
    group must compute its fakes again."""
    data = gan_with_network()
    data["nodes"] += [
        {"id": "critic_hidden", "type": "net.Discriminator", "shares": "critic"},
        {"id": "hidden_loss", "type": "loss.bce_logits", "params": {"target_value": 0.0}}]
    data["edges"] += [{"from": "g_fc.out", "to": "critic_hidden.image"},
                      {"from": "critic_hidden.logit", "to": "hidden_loss.pred"}]
    data["groups"][0]["losses"].append("hidden_loss")
    graph = composer.from_dict(data)
    assert "reused=" not in program_source(graph)
    assert len(composer.train(graph).history) > 0
