"""Networks (docs/FORMAT.md, version 2): a part defined once, used by instance nodes. Loading,
checks, shapes, code generation and training all see through instances."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

import composer
from composer import GraphFormatError
from composer.analysis.checks import analyse
from composer.generate.program import program_source
from tests.conftest import SAMPLES

torch.set_num_threads(1)


def disc(width: int = 32, description: str = "Scores an 8x8 image.") -> dict[str, Any]:
    return {
        "description": description,
        "params": {"width": {"default": width, "sets": ["fc1.out_features"]}},
        "inputs": {"image": ["flat.in"]},
        "outputs": {"logit": "fc2.out"},
        "nodes": [{"id": "flat", "type": "layer.flatten"},
                  {"id": "fc1", "type": "layer.linear", "params": {"out_features": width}},
                  {"id": "act", "type": "layer.leaky_relu", "params": {"negative_slope": 0.2}},
                  {"id": "fc2", "type": "layer.linear", "params": {"out_features": 1}}],
        "edges": [{"from": "flat.out", "to": "fc1.in"}, {"from": "fc1.out", "to": "act.in"},
                  {"from": "act.out", "to": "fc2.in"}],
    }


def file(nodes: list, edges: list[str], groups: list, networks: dict | None = None,
         steps: int = 4) -> dict[str, Any]:
    data = {"format": "composer-graph", "version": 2, "name": "test",
            "nodes": [{"id": n[0], "type": n[1], **(n[2] if len(n) > 2 else {})} for n in nodes],
            "edges": [{"from": e.split("->")[0].strip(), "to": e.split("->")[1].strip()}
                      for e in edges],
            "groups": [{"id": g, "members": m, "losses": x, "optimizer":
                        {"type": "adam", "lr": 0.001, "betas": [0.5, 0.999]}}
                       for g, m, x in groups],
            "training": {"epochs": 1, "seed": 3, "device": "cpu", "steps_per_epoch": steps}}
    if networks:
        data["networks"] = networks
    return data


GENERATOR = [("noise", "data.noise", {"params": {"dim": 8, "batch_size": 16}}),
             ("digits", "data.digits", {"params": {"batch_size": 16}}),
             ("g_fc", "layer.linear", {"params": {"out_features": 64}}),
             ("g_out", "layer.sigmoid"),
             ("g_img", "layer.reshape", {"params": {"shape": [1, 8, 8]}}),
             ("fake", "op.detach")]
GEN_WIRES = ["noise.z -> g_fc.in", "g_fc.out -> g_out.in", "g_out.out -> g_img.in",
             "g_img.out -> fake.in"]
LOSSES = [("d_real", "loss.bce_logits", {"params": {"target_value": 1.0}}),
          ("d_fake", "loss.bce_logits", {"params": {"target_value": 0.0}}),
          ("g_loss", "loss.bce_logits", {"params": {"target_value": 1.0}})]


def gan_with_network() -> dict[str, Any]:
    """The discriminator as one network with three tied instances."""
    nodes = GENERATOR + [("critic", "net.Discriminator"),
                         ("critic_fake", "net.Discriminator", {"shares": "critic"}),
                         ("critic_gen", "net.Discriminator", {"shares": "critic"})] + LOSSES
    wires = GEN_WIRES + ["digits.x -> critic.image", "fake.out -> critic_fake.image",
                         "g_img.out -> critic_gen.image", "critic.logit -> d_real.pred",
                         "critic_fake.logit -> d_fake.pred", "critic_gen.logit -> g_loss.pred"]
    return file(nodes, wires, [("disc", ["critic"], ["d_real", "d_fake"]),
                               ("gen", ["g_fc"], ["g_loss"])],
                {"Discriminator": disc()})


def gan_written_out() -> dict[str, Any]:
    """The same GAN as version 1 writes it: the discriminator's nodes three times, tied."""
    nodes, wires = list(GENERATOR), list(GEN_WIRES)
    for prefix, source, loss in (("a", "digits.x", "d_real"), ("b", "fake.out", "d_fake"),
                                 ("c", "g_img.out", "g_loss")):
        tie = (lambda n: {"shares": f"a_{n}"}) if prefix != "a" else (lambda n: {})
        nodes += [(f"{prefix}_flat", "layer.flatten"),
                  (f"{prefix}_fc1", "layer.linear", {"params": {"out_features": 32}, **tie("fc1")}),
                  (f"{prefix}_act", "layer.leaky_relu", {"params": {"negative_slope": 0.2}}),
                  (f"{prefix}_fc2", "layer.linear", {"params": {"out_features": 1}, **tie("fc2")})]
        wires += [f"{source} -> {prefix}_flat.in", f"{prefix}_flat.out -> {prefix}_fc1.in",
                  f"{prefix}_fc1.out -> {prefix}_act.in", f"{prefix}_act.out -> {prefix}_fc2.in",
                  f"{prefix}_fc2.out -> {loss}.pred"]
    data = file(nodes + LOSSES, wires, [("disc", ["a_fc1", "a_fc2"], ["d_real", "d_fake"]),
                                        ("gen", ["g_fc"], ["g_loss"])])
    data["version"] = 1
    return data


def losses(result: composer.RunResult) -> list[dict[str, float]]:
    return [r["loss"] for r in result.history if "step" in r and "loss" in r]


# --- the file ---------------------------------------------------------------------------------

def test_a_graph_with_networks_saves_as_version_2_and_loads_back_equal():
    graph = composer.from_dict(gan_with_network())
    text = composer.dumps(graph)
    assert '"version": 2' in text and '"networks"' in text
    again = composer.loads(text)
    assert again == graph and composer.dumps(again) == text


def test_a_version_1_file_loads_and_is_saved_as_version_1_while_it_uses_nothing_newer():
    data = gan_written_out()
    graph = composer.from_dict(data)
    assert graph.to_dict()["version"] == 1
    assert analyse(graph).errors == []


@pytest.mark.parametrize("edit, where, message", [
    (lambda d: d["networks"].update(Disc=d["networks"].pop("Discriminator")),
     "nodes[6] (critic).type", 'no network "Discriminator" in this file; it defines Disc'),
    (lambda d: d["networks"].update(lower=disc()), "networks.lower",
     '"lower" is not a network name'),
    (lambda d: d["networks"]["Discriminator"]["nodes"].append(
        {"id": "d", "type": "data.digits"}), "networks.Discriminator.nodes[4] (d).type",
     "data nodes such as data.digits stay on the top level"),
    (lambda d: d["networks"]["Discriminator"]["params"]["width"].update(sets=["fc1.width"]),
     "networks.Discriminator.params.width.sets[0]",
     'layer.linear fc1 has no parameter "width"'),
    (lambda d: d["networks"]["Discriminator"]["params"]["width"].update(default=0),
     "networks.Discriminator.params.width.default", "expected an integer from 1"),
    (lambda d: d["networks"]["Discriminator"]["outputs"].update(logit="fc9.out"),
     "networks.Discriminator.outputs.logit", 'no node "fc9"'),
    (lambda d: d["nodes"][6].update(params={"width": 0}), "nodes[6] (critic).params.width",
     "expected an integer from 1"),
    (lambda d: d["groups"][0].update(members=["critic/fc3"]), "groups[0].members[0]",
     'no node "fc3" inside critic; did you mean fc2?'),
    (lambda d: d["groups"][0].update(members=["g_fc/x"]), "groups[0].members[0]",
     '"g_fc" is not a network instance'),
])
def test_a_malformed_network_is_refused_naming_the_place(edit, where, message):
    data = gan_with_network()
    edit(data)
    with pytest.raises(GraphFormatError) as e:
        composer.from_dict(data)
    assert e.value.where == where
    assert message in e.value.detail


def test_a_network_that_contains_itself_is_refused_with_the_cycle():
    data = gan_with_network()
    outer = copy.deepcopy(disc())
    outer["nodes"].append({"id": "loop", "type": "net.Outer"})
    inner = copy.deepcopy(disc())
    inner["nodes"].append({"id": "back", "type": "net.Inner"})
    data["networks"].update(Outer=inner, Inner=outer)
    with pytest.raises(GraphFormatError) as e:
        composer.from_dict(data)
    assert "a network cannot contain itself: Outer -> Inner -> Outer" in str(e.value)


def test_a_cycle_made_by_editing_is_a_diagnostic_naming_it():
    graph = composer.from_dict(gan_with_network())
    inner = graph.networks["Discriminator"].graph
    inner.add_node(composer.Node("again", "net.Discriminator"))
    found = [d for d in analyse(graph).errors if "contain itself" in d.message]
    assert found and found[0].node == "critic/again"
    assert "Discriminator -> Discriminator" in found[0].message


# --- checks and shapes see through instances --------------------------------------------------

def test_a_problem_inside_an_instance_names_the_path():
    graph = composer.from_dict(gan_with_network())
    graph.set_param("critic", "width", 0)
    graph.set_param("critic_fake", "width", 0)
    graph.set_param("critic_gen", "width", 0)
    errors = analyse(graph).errors
    assert {(d.node, d.param) for d in errors} >= {("critic/fc1", "out_features")}


def test_shapes_are_inferred_per_instance():
    data = gan_with_network()
    data["nodes"][7].pop("shares")
    data["nodes"][7]["params"] = {"width": 48}
    data["groups"][0]["members"] = ["critic", "critic_fake"]
    analysis = analyse(composer.from_dict(data))
    assert analysis.errors == []
    assert str(analysis.shapes.output("critic/fc1", "out")) == "[B,32]"
    assert str(analysis.shapes.output("critic_fake/fc1", "out")) == "[B,48]"


def test_tied_instances_must_be_of_one_network():
    data = gan_with_network()
    data["networks"]["Other"] = disc()
    data["nodes"][7]["type"] = "net.Other"
    errors = analyse(composer.from_dict(data)).errors
    assert any(d.node == "critic_fake" and "is an instance of Discriminator" in d.message
               for d in errors)


# --- code and training ------------------------------------------------------------------------

def test_the_network_gan_trains_exactly_as_the_gan_written_out():
    written = composer.train(composer.from_dict(gan_written_out()))
    network = composer.train(composer.from_dict(gan_with_network()))
    assert losses(network) == losses(written) and len(losses(network)) == 4


def test_state_dict_keys_are_instance_inner_node_torch_name_and_ties_are_one_module():
    model = composer.compile(composer.from_dict(gan_with_network()))
    keys = list(model.state_dict())
    assert "critic.fc1.weight" in keys and "critic.fc2.bias" in keys
    assert model.critic_fake is model.critic and model.critic_gen is model.critic
    assert type(model.critic).__name__ == "Discriminator"


def test_generated_code_has_one_class_per_network_as_a_user_would_write_it():
    source = program_source(composer.from_dict(gan_with_network()))
    assert "class Discriminator(nn.Module):" in source
    assert '    """Scores an 8x8 image."""' in source
    assert "    def __init__(self, *, width: int = 32) -> None:" in source
    assert "        self.fc1 = nn.Linear(64, width)" in source
    assert "        self.fc2 = nn.Linear(width, 1)" in source
    assert "    def forward(self, image: Tensor) -> Tensor:" in source
    assert "        self.critic = Discriminator()" in source
    assert "        self.critic_fake = self.critic  # shares critic" in source
    assert 'parameters_of(model, "critic")' in source


def test_a_size_that_follows_a_param_is_written_as_the_param():
    data = gan_with_network()
    for node in data["nodes"][7:9]:
        node.pop("shares")
    data["nodes"][7]["params"] = {"width": 16}
    data["groups"][0]["members"] = ["critic", "critic_fake", "critic_gen"]
    graph = composer.from_dict(data)
    source = program_source(graph)
    assert "def __init__(self, *, width: int = 32) -> None:" in source
    assert "self.fc2 = nn.Linear(width, 1)" in source
    assert "self.critic_fake = Discriminator(width=16)" in source
    model = composer.compile(graph)
    assert model.critic_fake.fc2.in_features == 16 and model.critic.fc2.in_features == 32
    assert len(losses(composer.train(graph))) == 4


def test_instances_fed_different_sizes_get_those_sizes_as_arguments():
    data = gan_with_network()
    data["nodes"][8].pop("shares")  # critic_gen judges the noise instead: 8 wide, not 64
    data["edges"] = [e for e in data["edges"] if e["to"] != "critic_gen.image"]
    data["edges"].append({"from": "noise.z", "to": "critic_gen.image"})
    data["groups"][0]["members"] = ["critic", "critic_gen"]
    data["groups"][1]["members"] = ["critic_gen"]
    graph = composer.from_dict(data)
    assert analyse(graph).errors == []
    source = program_source(graph)
    assert "def __init__(self, *, width: int = 32, fc1_in_features: int) -> None:" in source
    assert "self.fc1 = nn.Linear(fc1_in_features, width)" in source
    assert "self.critic = Discriminator(fc1_in_features=64)" in source
    assert "self.critic_gen = Discriminator(fc1_in_features=8)" in source
    assert "self.critic_fake = self.critic" in source
    assert len(losses(composer.train(graph))) == 4


def test_a_group_member_may_be_a_path_into_an_instance():
    data = gan_with_network()
    data["groups"][0]["members"] = ["critic/fc1"]
    graph = composer.from_dict(data)
    assert analyse(graph).errors == []
    before = composer.train(graph, steps=0).model.state_dict()
    after = composer.train(graph).model.state_dict()
    assert not torch.equal(before["critic.fc1.weight"], after["critic.fc1.weight"])
    assert torch.equal(before["critic.fc2.weight"], after["critic.fc2.weight"])


def test_a_network_nested_in_a_network_compiles_and_trains():
    block = {
        "params": {"width": {"default": 16, "sets": ["fc.out_features"]}},
        "inputs": {"x": ["fc.in"]}, "outputs": {"y": "act.out"},
        "nodes": [{"id": "fc", "type": "layer.linear", "params": {"out_features": 16}},
                  {"id": "act", "type": "layer.relu"}],
        "edges": [{"from": "fc.out", "to": "act.in"}],
    }
    trunk = {
        "description": "Two blocks and a head.",
        "params": {"hidden": {"default": 24, "sets": ["b1.width", "b2.width"]}},
        "inputs": {"image": ["flat.in"]}, "outputs": {"logits": "head.out"},
        "nodes": [{"id": "flat", "type": "layer.flatten"},
                  {"id": "b1", "type": "net.Block", "params": {"width": 24}},
                  {"id": "b2", "type": "net.Block", "params": {"width": 24}},
                  {"id": "head", "type": "layer.linear", "params": {"out_features": 10}}],
        "edges": [{"from": "flat.out", "to": "b1.x"}, {"from": "b1.y", "to": "b2.x"},
                  {"from": "b2.y", "to": "head.in"}],
    }
    data = file([("digits", "data.digits", {"params": {"batch_size": 16}}),
                 ("net", "net.Trunk", {"params": {"hidden": 40}}),
                 ("ce", "loss.cross_entropy")],
                ["digits.x -> net.image", "net.logits -> ce.pred", "digits.y -> ce.target"],
                [("all", ["net"], ["ce"])], {"Trunk": trunk, "Block": block})
    graph = composer.from_dict(data)
    assert analyse(graph).errors == []
    source = program_source(graph)
    assert "self.b1 = Block(width=hidden, fc_in_features=64)" in source
    assert "self.b2 = Block(width=hidden, fc_in_features=hidden)" in source
    assert "self.head = nn.Linear(hidden, 10)" in source
    assert source.index("class Block(") < source.index("class Trunk(")
    model = composer.compile(graph)
    assert model.net.b2.fc.weight.shape == (40, 40)
    assert "net.b1.fc.weight" in model.state_dict()
    result = composer.train(graph)
    assert all(torch.isfinite(torch.tensor(v["ce"])) for v in losses(result))


def test_a_network_with_two_outputs_feeds_each_where_it_is_wired():
    split = {
        "inputs": {"image": ["flat.in"]}, "outputs": {"code": "enc.out", "recon": "dec.out"},
        "nodes": [{"id": "flat", "type": "layer.flatten"},
                  {"id": "enc", "type": "layer.linear", "params": {"out_features": 10}},
                  {"id": "dec", "type": "layer.linear", "params": {"out_features": 64}}],
        "edges": [{"from": "flat.out", "to": "enc.in"}, {"from": "enc.out", "to": "dec.in"}],
    }
    data = file([("digits", "data.digits", {"params": {"batch_size": 16}}),
                 ("ae", "net.Split"), ("flat", "layer.flatten"),
                 ("ce", "loss.cross_entropy"), ("mse", "loss.mse")],
                ["digits.x -> ae.image", "ae.code -> ce.pred", "digits.y -> ce.target",
                 "digits.x -> flat.in", "ae.recon -> mse.pred", "flat.out -> mse.target"],
                [("all", ["ae"], ["ce", "mse"])], {"Split": split})
    graph = composer.from_dict(data)
    assert analyse(graph).errors == []
    source = program_source(graph)
    assert 'return {"code": enc, "recon": dec}' in source
    assert 'ae["code"]' in source and 'ae["recon"]' in source
    assert len(losses(composer.train(graph))) == 4


def test_resnet_blocks_read_as_torchvisions_with_one_argument_per_size():
    source = program_source(composer.load(SAMPLES / "resnet18_color_digits.graph.json"))
    assert "def __init__(self, *, planes: int = 64, conv1_in_channels: int) -> None:" in source
    assert "self.bn1 = nn.BatchNorm2d(planes)" in source
    assert "downsample_0_in_channels" not in source  # the same input's channels as conv1's
    assert "self.layer2_1 = BasicBlock(planes=128, conv1_in_channels=128)" in source


def test_wires_to_and_from_an_instance_are_judged_by_its_ports():
    from composer.analysis.wiring import connection_problem

    graph = composer.from_dict(gan_with_network())
    graph.disconnect(graph.edge_into("critic", "image"))
    shapes = analyse(graph).shapes
    assert connection_problem(graph, "digits", "x", "critic", "image", shapes) is None
    assert connection_problem(graph, "digits", "x", "critic", "img", shapes) == \
        "net.Discriminator critic has no input img (its inputs: image)"
    assert connection_problem(graph, "critic", "logit", "d_real", "pred", shapes) is None
    assert "would close a cycle" in connection_problem(graph, "critic_gen", "logit", "g_fc",
                                                       "in", shapes)
