"""Group schedules and LR schedules, seen where a user would look: which parameters changed
after which step (from per-step checkpoints) and the learning rates the run reports."""

from __future__ import annotations

import math

import pytest
import torch
from composed_graphs import chain, graph, single_threaded_torch

import composer
from composer.generate.compile import graph_program
from composer.graph import Group
from composer.runtime.schedules import (
    Schedule,
    cosine_lr,
    count_updates,
    exponential_lr,
    is_active,
    step_lr,
    warmup_cosine_lr,
)


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def group(gid, members, losses, optimizer=None, **schedule):
    sched = {"every": 1, "offset": 0, "epochs": [0, None], "repeat": 1} | schedule
    return Group(gid, members, losses, optimizer or {"type": "sgd", "lr": 0.1}, sched)


def weights_after_each_step(g, steps, tmp_path):
    """{steps done: state_dict}, from a checkpoint after every step (0: the initial weights)."""
    composer.train(g, steps=steps, out_dir=tmp_path, checkpoint_every=1)
    states = {k: torch.load(tmp_path / f"checkpoint_step{k}.pt", weights_only=True)["model"]
              for k in range(1, steps + 1)}
    torch.manual_seed(g.training.seed)  # the run seeds, then builds the model
    states[0] = composer.compile(g).state_dict()
    return states


def changed(states, key, k):
    """Whether parameter `key` changed during step k-1 (between k-1 and k steps done)."""
    return not torch.equal(states[k - 1][key], states[k][key])


@pytest.mark.parametrize("every,offset,epochs,repeat", [
    (1, 0, (0, None), 1), (3, 1, (0, None), 1), (2, 0, (1, 3), 2), (4, 3, (2, None), 3),
    (5, 7, (0, None), 1)])
def test_update_count_matches_the_step_by_step_predicate(every, offset, epochs, repeat):
    s = Schedule(every, offset, epochs, repeat)
    for total, spe in ((0, 5), (17, 5), (40, 7), (9, 10)):
        expected = sum(is_active(s, step, step // spe) for step in range(total)) * repeat
        assert count_updates(s, total, spe) == expected


def test_group_outside_its_epoch_window_leaves_its_parameters_bit_identical(tmp_path):
    g = chain([group("early", ["b"], ["ce"], epochs=[0, 1]),
               group("late", ["c"], ["ce2"], epochs=[1, None])], steps_per_epoch=4)
    states = weights_after_each_step(g, 8, tmp_path)
    for k in range(1, 9):
        in_epoch_0 = k <= 4
        assert changed(states, "b.weight", k) == in_epoch_0, k
        assert changed(states, "c.weight", k) == (not in_epoch_0), k
        assert not changed(states, "a.weight", k), "a is in no group: it stays frozen"


def test_group_updates_only_on_steps_where_step_mod_every_is_offset(tmp_path):
    g = chain([group("g", ["a", "b"], ["ce"], every=3, offset=1)])
    states = weights_after_each_step(g, 8, tmp_path)
    assert [k - 1 for k in range(1, 9) if changed(states, "b.weight", k)] == [1, 4, 7]
    assert not any(changed(states, "c.weight", k) for k in range(1, 9))


def test_detach_stops_gradients_so_what_comes_before_never_changes(tmp_path):
    detached = weights_after_each_step(
        chain([group("g", ["a", "b"], ["ce"])], detach=True), 3, tmp_path / "d")
    plain = weights_after_each_step(chain([group("g", ["a", "b"], ["ce"])]), 3, tmp_path / "p")
    assert not any(changed(detached, "a.weight", k) for k in (1, 2, 3))
    assert all(changed(detached, "b.weight", k) for k in (1, 2, 3))
    assert all(changed(plain, "a.weight", k) for k in (1, 2, 3))


def test_shared_weights_are_one_tensor_updated_once_per_step_with_both_gradients():
    g = graph({"d": "data.digits", "f": "layer.flatten",
               "s1": ("layer.linear", {"out_features": 10}),
               "s2": ("layer.linear", {"out_features": 10}, "s1"),
               "ce1": "loss.cross_entropy", "ce2": "loss.cross_entropy"},
              ["d.x -> f.in", "f.out -> s1.in", "s1.out -> ce1.pred", "d.y -> ce1.target",
               "f.out -> s2.in", "s2.out -> ce2.pred", "d.y -> ce2.target"],
              [group("g", ["s1", "s2"], ["ce1", "ce2"])])
    program = graph_program(g)
    torch.manual_seed(0)
    start = program.Model()
    batch = program.make_data(0, g.base_dir)["d"].draw(0)
    w = start.s1.weight.detach().clone().requires_grad_(True)
    b = start.s1.bias.detach().clone().requires_grad_(True)
    x = batch["d.x"].flatten(1)
    logits = x @ w.T + b
    loss = 2 * torch.nn.functional.cross_entropy(logits, batch["d.y"])  # the same loss twice
    loss.backward()
    run = composer.train(g, steps=1)
    assert run.model.s2.weight is run.model.s1.weight
    torch.testing.assert_close(run.model.s1.weight, w - 0.1 * w.grad, atol=1e-6, rtol=1e-6)


def lrs_reported(g, steps):
    seen = []
    composer.train(g, steps=steps, callback=lambda e: seen.append(e["lr"]["g"])
                   if e["kind"] == "step" else None)
    return seen


@pytest.mark.parametrize("lr_schedule,formula", [
    ({"type": "constant"}, lambda k: 0.1),
    ({"type": "step", "step_size": 3, "gamma": 0.5}, lambda k: 0.1 * 0.5 ** (k // 3)),
    ({"type": "exponential", "gamma": 0.9}, lambda k: 0.1 * 0.9**k),
    ({"type": "cosine", "min_lr": 0.01},
     lambda k: 0.01 + 0.09 * (1 + math.cos(math.pi * k / 10)) / 2),
    ({"type": "warmup_cosine", "warmup_steps": 4, "total_steps": 8},
     lambda k: 0.1 * (k + 1) / 4 if k < 4
     else 0.1 * (1 + math.cos(math.pi * min(k - 4, 4) / 4)) / 2),
])
def test_learning_rate_follows_its_schedule_once_per_update(lr_schedule, formula):
    g = chain([group("g", ["a", "b"], ["ce"])])
    g.groups[0].lr_schedule = lr_schedule
    assert lrs_reported(g, 10) == pytest.approx([formula(k) for k in range(10)], rel=1e-12)


def test_repeat_makes_several_updates_per_active_step():
    g = chain([group("g", ["a", "b"], ["ce"], every=2, repeat=3)])
    g.groups[0].lr_schedule = {"type": "exponential", "gamma": 0.5}
    # updates happen at steps 0, 2, 4, ... three at a time; the lr reported is the first's
    expected = [0.1 * 0.5 ** (3 * ((s + 1) // 2)) for s in range(6)]
    assert lrs_reported(g, 6) == pytest.approx(expected, rel=1e-12)


def test_lr_functions_reach_their_end_values():
    assert cosine_lr(10, 1.0, 10, min_lr=0.1) == pytest.approx(0.1)
    assert cosine_lr(0, 1.0, 10) == 1.0
    assert warmup_cosine_lr(0, 1.0, 20, warmup_steps=5) == pytest.approx(0.2)
    assert warmup_cosine_lr(5, 1.0, 20, warmup_steps=5) == 1.0
    assert step_lr(7, 1.0, 0, step_size=3, gamma=0.1) == pytest.approx(0.01)
    assert exponential_lr(2, 1.0, 0, gamma=0.5) == 0.25
