"""A node's `init` starts its weights as the papers do: DCGAN's N(0, 0.02), ResNet's kaiming."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch
from graph_builder import make
from torch import nn

import composer
from composer.analysis.checks import check
from composer.errors import GraphFormatError
from composer.fileformat import dumps, from_dict, loads
from composer.generate.codegen import model_code

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def compiled(graph, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return composer.compile(graph)


# --- DCGAN as pytorch/examples' dcgan/main.py writes it (nz 100, ngf 64, ndf 64, nc 3) -------

def reference_generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def reference_discriminator(ndf: int = 64, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def weights_init(m: nn.Module) -> None:
    """main.py's: convolutions N(0, 0.02); batch norm scale N(1, 0.02), shift 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def _stats(module: nn.Module) -> list[tuple[str, tuple, float, float]]:
    return [(name, tuple(p.shape), p.mean().item(), p.std().item() if p.numel() > 1 else 0.0)
            for name, p in module.named_parameters()]


@pytest.mark.parametrize("instance, reference", [("generator", reference_generator),
                                                 ("d_real", reference_discriminator)])
def test_dcgan_sample_starts_with_the_weight_statistics_of_pytorch_examples(instance, reference):
    model = compiled(composer.load(SAMPLES / "dcgan_color_digits.graph.json"))
    torch.manual_seed(1)
    ref = reference()
    ref.apply(weights_init)
    ours, theirs = _stats(model.get_submodule(instance)), _stats(ref)
    assert [s[1] for s in ours] == [s[1] for s in theirs]
    for (name, shape, mean, std), (_, _, ref_mean, ref_std) in zip(ours, theirs, strict=True):
        if len(shape) == 4:  # a convolution: N(0, 0.02)
            assert abs(std - ref_std) < 0.05 * 0.02 and abs(std - 0.02) < 0.05 * 0.02, name
            assert abs(mean - ref_mean) < 0.002, name
        elif name.endswith("weight"):  # a batch norm's scale: N(1, 0.02)
            assert abs(mean - ref_mean) < 0.01 and abs(mean - 1.0) < 0.01, name
            assert 0.01 < std < 0.03 and abs(std - ref_std) < 0.01, name
        else:  # its shift: 0
            assert mean == ref_mean == 0.0 and std == 0.0, name


def test_resnet_sample_convolutions_start_as_torchvisions_kaiming_fan_out():
    model = compiled(composer.load(SAMPLES / "resnet18_color_digits.graph.json"))
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20  # stem, 16 in the blocks, 3 shortcuts
    for name, conv in convs:
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        expected = math.sqrt(2.0 / fan_out)
        assert abs(conv.weight.std().item() - expected) < 0.03 * expected, name
    for name, bn in ((n, m) for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)):
        assert torch.equal(bn.weight, torch.ones_like(bn.weight)), name
        assert torch.equal(bn.bias, torch.zeros_like(bn.bias)), name
    bound = 1 / math.sqrt(model.fc.in_features)  # the classifier keeps torch's default
    assert model.fc.weight.abs().max().item() <= bound


# --- each kind on a small graph --------------------------------------------------------------

def one_conv(init: dict | None = None, conv: str = "layer.conv2d", **params) -> composer.Graph:
    """Digits -> a conv (with bias, 32 channels) -> flatten -> linear -> cross-entropy."""
    own = {"out_channels": 32, **params}
    if init is not None:
        own["init"] = init
    return make({"d": "data.digits", "c": (conv, own), "f": "layer.flatten",
                 "fc": ("layer.linear", {"out_features": 10}), "ce": "loss.cross_entropy"},
                ["d.x -> c.in", "c.out -> f.in", "f.out -> fc.in", "fc.out -> ce.pred",
                 "d.y -> ce.target"], {"g": (["c", "fc"], ["ce"])})


def test_zeros_and_ones_set_every_weight_and_zero_the_bias():
    zeros, ones = compiled(one_conv({"type": "zeros"})).c, compiled(one_conv({"type": "ones"})).c
    assert torch.count_nonzero(zeros.weight) == 0 and torch.count_nonzero(zeros.bias) == 0
    assert torch.equal(ones.weight, torch.ones_like(ones.weight))
    assert torch.count_nonzero(ones.bias) == 0


def test_normal_has_the_mean_and_std_asked_for_and_a_zero_bias():
    c = compiled(one_conv({"type": "normal", "mean": 0.5, "std": 0.1}, kernel_size=5)).c
    assert abs(c.weight.mean().item() - 0.5) < 0.02
    assert abs(c.weight.std().item() - 0.1) < 0.1 * 0.1
    assert torch.count_nonzero(c.bias) == 0


def test_xavier_uniform_stays_within_its_bound_and_fills_it():
    c = compiled(one_conv({"type": "xavier_uniform", "gain": 2.0})).c
    fan_in, fan_out = 1 * 9, 32 * 9
    bound = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    assert bound * 0.95 < c.weight.abs().max().item() <= bound
    assert torch.count_nonzero(c.bias) == 0


def test_kaiming_normal_fan_in_relu_has_std_sqrt_2_over_fan_in():
    fc = compiled(one_conv({"type": "kaiming_normal", "mode": "fan_in",
                            "nonlinearity": "relu"}, kernel_size=5)).c
    assert abs(fc.weight.std().item() - math.sqrt(2 / 25)) < 0.05 * math.sqrt(2 / 25)


def test_a_block_initialises_its_convolutions_and_keeps_its_batch_norms_at_one_and_zero():
    block = compiled(one_conv({"type": "kaiming_normal", "mode": "fan_out",
                               "nonlinearity": "relu"}, "block.residual")).c
    for conv in (block.conv1, block.conv2, block.skip[0]):
        fan_out = 32 * conv.kernel_size[0] ** 2
        assert abs(conv.weight.std().item() - math.sqrt(2 / fan_out)) < 0.1 * math.sqrt(
            2 / fan_out)
    for bn in (block.bn1, block.bn2, block.skip[1]):
        assert torch.equal(bn.weight, torch.ones_like(bn.weight))
    seq = compiled(one_conv({"type": "zeros"}, "block.conv_bn_relu")).c
    assert torch.count_nonzero(seq[0].weight) == 0 and torch.equal(seq[1].weight,
                                                                   torch.ones_like(seq[1].weight))


def test_on_a_norm_layer_the_init_sets_its_scale_and_zeroes_its_shift():
    graph = make({"d": "data.digits",
                  "bn": ("layer.batchnorm2d", {"init": {"type": "normal", "mean": 1.0,
                                                        "std": 0.5}}),
                  "ln": ("layer.layernorm", {"init": {"type": "zeros"}}),
                  "f": "layer.flatten", "fc": ("layer.linear", {"out_features": 10}),
                  "ce": "loss.cross_entropy"},
                 ["d.x -> bn.in", "bn.out -> ln.in", "ln.out -> f.in", "f.out -> fc.in",
                  "fc.out -> ce.pred", "d.y -> ce.target"], {"g": (["bn", "ln", "fc"], ["ce"])})
    model = compiled(graph)
    assert model.bn.weight.item() != 1.0 and model.bn.bias.item() == 0.0
    assert model.ln.weight.shape == (1, 8, 8) and torch.count_nonzero(model.ln.weight) == 0


def test_attention_projections_are_initialised_and_their_biases_zeroed():
    graph = make({"d": "data.digits", "c": ("layer.conv2d", {"out_channels": 8}),
                  "a": ("merge.attention", {"init": {"type": "ones"}}),
                  "f": "layer.flatten", "fc": ("layer.linear", {"out_features": 10}),
                  "ce": "loss.cross_entropy"},
                 ["d.x -> c.in", "c.out -> a.query", "c.out -> a.value", "a.out -> f.in",
                  "f.out -> fc.in", "fc.out -> ce.pred", "d.y -> ce.target"],
                 {"g": (["c", "a", "fc"], ["ce"])})
    attn = compiled(graph).a.attn
    for name, p in attn.named_parameters():
        assert torch.equal(p, torch.zeros_like(p) if "bias" in name else torch.ones_like(p)), name


def test_default_leaves_the_weights_bit_for_bit_as_torch_builds_them():
    unset, explicit = compiled(one_conv(), seed=3), compiled(one_conv({"type": "default"}), 3)
    torch.manual_seed(3)
    conv, fc = nn.Conv2d(1, 32, 3), nn.Linear(32 * 6 * 6, 10)
    for model in (unset, explicit):
        assert torch.equal(model.c.weight, conv.weight) and torch.equal(model.c.bias, conv.bias)
        assert torch.equal(model.fc.weight, fc.weight)
    source = model_code(one_conv({"type": "default"})).source
    assert not any(line.strip().startswith("init_") for line in source.splitlines())


def test_the_init_statement_follows_the_constructor_in_the_generated_code():
    source = model_code(one_conv({"type": "normal", "std": 0.02})).source
    lines = [line.strip() for line in source.splitlines()]
    at = lines.index("self.c = nn.Conv2d(1, 32, kernel_size=3)")
    assert lines[at + 1] == "init_normal(self.c, mean=0.0, std=0.02)"


def test_tied_nodes_are_initialised_once():
    graph = make({"d": "data.digits",
                  "a": ("layer.linear", {"out_features": 64, "init": {"type": "ones"}}),
                  "b": ("layer.linear", {"out_features": 64, "init": {"type": "ones"}}, "a"),
                  "f": "layer.flatten", "ce": "loss.cross_entropy"},
                 ["d.x -> f.in", "f.out -> a.in", "a.out -> b.in", "b.out -> ce.pred",
                  "d.y -> ce.target"], {"g": (["a"], ["ce"])})
    source = model_code(graph).source
    assert source.count("init_ones(") == 1
    model = compiled(graph)
    assert model.a is model.b and torch.equal(model.a.weight, torch.ones(64, 64))


def test_the_exported_script_builds_the_same_weights_as_compile(tmp_path, monkeypatch):
    graph = composer.load(SAMPLES / "dcgan_color_digits.graph.json")
    script = tmp_path / "dcgan.py"
    script.write_text(composer.export_python(graph))
    spec = importlib.util.spec_from_file_location("exported_dcgan", script)
    exported = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, exported)  # its dataclasses look it up
    spec.loader.exec_module(exported)
    assert "def init_normal(" in script.read_text() and "def init_kaiming" not in \
        script.read_text()
    torch.manual_seed(7)
    theirs = exported.Model().state_dict()
    ours = compiled(graph, seed=7).state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


# --- bad values ------------------------------------------------------------------------------

def _file(init) -> dict:
    data = {"format": "composer-graph", "version": 1, "name": "t",
            "nodes": [{"id": "d", "type": "data.digits"},
                      {"id": "c", "type": "layer.conv2d", "params": {"init": init}},
                      {"id": "bn", "type": "layer.batchnorm2d"}],
            "edges": [{"from": "d.x", "to": "c.in"}, {"from": "c.out", "to": "bn.in"}]}
    return data


@pytest.mark.parametrize("init, where, message", [
    ("normal", "nodes[1] (c).params.init",
     'expected an object with a "type" (default, normal, xavier_uniform, kaiming_normal, '
     'zeros, ones), got "normal"'),
    ({"type": "gaussian"}, "nodes[1] (c).params.init.type", 'unknown initialisation "gaussian"'),
    ({"type": "kaiming"}, "nodes[1] (c).params.init.type", "did you mean kaiming_normal?"),
    ({"type": "normal", "std": -0.02}, "nodes[1] (c).params.init.std",
     "expected a number >= 0, got -0.02"),
    ({"type": "normal", "std": "0.02"}, "nodes[1] (c).params.init.std",
     'expected a number >= 0, got "0.02"'),
    ({"type": "normal", "sd": 0.02}, "nodes[1] (c).params.init.sd",
     "unknown argument of normal; it takes mean, std"),
    ({"type": "kaiming_normal", "mode": "fan_avg"}, "nodes[1] (c).params.init.mode",
     'expected one of "fan_in", "fan_out", got "fan_avg"'),
    ({"type": "kaiming_normal", "nonlinearity": "swish"}, "nodes[1] (c).params.init.nonlinearity",
     "expected one of"),
    ({"type": "zeros", "std": 1}, "nodes[1] (c).params.init.std",
     "unknown argument of zeros; it takes none"),
])
def test_a_bad_init_is_refused_naming_its_place_in_the_file(init, where, message):
    with pytest.raises(GraphFormatError) as info:
        from_dict(_file(init))
    assert info.value.where == where
    assert message in info.value.detail


def test_a_fan_based_init_on_a_norm_layer_is_refused_naming_the_node():
    data = _file({"type": "default"})
    data["nodes"][2]["params"] = {"init": {"type": "kaiming_normal"}}
    with pytest.raises(GraphFormatError) as info:
        from_dict(data)
    assert info.value.where == "nodes[2] (bn).params.init.type"
    assert "kaiming_normal needs weights with a fan-in and fan-out" in info.value.detail
    graph = from_dict(_file({"type": "default"}))
    graph.nodes["bn"].params["init"] = {"type": "xavier_uniform"}  # as a program may set it
    found = [d for d in check(graph) if d.node == "bn"]
    assert found and found[0].is_error and found[0].param == "init"
    assert found[0].message.startswith("init.type: xavier_uniform needs weights with a fan-in")


def test_an_init_is_saved_with_its_arguments_and_loads_back_the_same():
    graph = from_dict(_file({"type": "normal", "std": 0.02}))
    assert graph.nodes["c"].params["init"] == {"type": "normal", "mean": 0.0, "std": 0.02}
    assert loads(dumps(graph)).nodes["c"].params == graph.nodes["c"].params


def test_a_network_parameter_cannot_set_an_inner_init():
    from network_graphs import DISCRIMINATOR, gan_with_network

    network = {**DISCRIMINATOR, "params": {"start": {"default": {"type": "zeros"},
                                                     "sets": ["fc1.init"]}}}
    with pytest.raises(GraphFormatError) as info:
        gan_with_network(network)
    assert info.value.where == "networks.Discriminator.params.start.sets[0]"
    assert "fc1.init cannot be set by a network parameter" in info.value.detail


def test_an_inner_init_starts_every_instance_of_a_network():
    from network_graphs import DISCRIMINATOR, gan_with_network

    nodes = [dict(n, params={**n.get("params", {}), "init": {"type": "ones"}})
             if n["id"] == "fc2" else n for n in DISCRIMINATOR["nodes"]]
    model = compiled(gan_with_network({**DISCRIMINATOR, "nodes": nodes}))
    assert torch.equal(model.d_real.fc2.weight, torch.ones(1, 32))
    assert model.d_fake.fc2 is model.d_real.fc2 and model.d_real.fc2.bias.item() == 0.0
