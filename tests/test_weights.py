"""Pretrained weights files: torchvision's ResNet-18 state_dict loads into the ResNet-18 sample
by names, through the file key, the CLI, `composer.train`, the exported script and a resume;
files that do not fit are refused with one line naming both sides."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from composed_graphs import SINGLE_THREAD_ENV, chain, single_threaded_torch
from test_fidelity_networks import ResNet18, randomise_batchnorm

import composer
from composer import cli
from composer.generate.compile import load_program
from composer.graph import Group

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RESNET = "resnet18_color_digits.graph.json"


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


@pytest.fixture(scope="module")
def reference() -> ResNet18:
    """torchvision's layout, 10 classes, batch-norm statistics away from their defaults."""
    torch.manual_seed(3)
    hand = ResNet18()
    randomise_batchnorm(hand, 5)
    return hand.eval()


@pytest.fixture
def folder(tmp_path, reference) -> Path:
    """The ResNet-18 sample, its data and the reference's state_dict in one folder."""
    for name in (RESNET, "color_digits_32.npz"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    return tmp_path


def with_weights(folder: Path, pth: str = "resnet18.pth") -> composer.Graph:
    """The sample with every node taking its weights from `pth` (what `--apply` writes)."""
    graph = composer.load(folder / RESNET)
    found = composer.match_graph_weights(graph, pth)
    assert found.ok, found.message()
    for node, key in found.keys(pth).items():
        graph.set_weights(node, key)
    return graph


def altered(folder: Path, change) -> str:
    state = torch.load(folder / "resnet18.pth")
    change(state)
    torch.save(state, folder / "bad.pth")
    return "bad.pth"


def test_resnet18_state_dict_loads_by_names_and_computes_what_the_reference_does(
        folder, reference):
    graph = with_weights(folder)
    assert graph.nodes["layer2_0"].weights == {"path": "resnet18.pth", "prefix": "layer2.0.",
                                               "match": "names"}
    assert sorted(graph.nodes[n].weights is not None for n in graph.nodes).count(True) == 11
    assert composer.check(graph) == [] or all(not d.is_error for d in composer.check(graph))
    model = composer.compile(graph).eval()
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = model({"images.x": x}, outputs=["fc.out"])["fc.out"]
    torch.testing.assert_close(ours, reference(x), atol=1e-5, rtol=1e-5)
    fresh = composer.compile(graph, pretrained=False).eval()
    assert not torch.allclose(fresh({"images.x": x}, outputs=["fc.out"])["fc.out"], ours)


def test_downsample_tensors_go_into_the_instance_inner_nodes(folder):
    found = composer.match_weights(composer.load(folder / RESNET), "layer2_0",
                                   "resnet18.pth", "layer2.0.")
    pairs = {r.model: r.file for r in found.rows}
    assert pairs["layer2_0/downsample_0.weight"] == "layer2.0.downsample.0.weight"
    assert pairs["layer2_0/downsample_1.num_batches_tracked"] == \
        "layer2.0.downsample.1.num_batches_tracked"
    assert found.ok and len(found.matched) == 18


def test_a_tensor_of_the_wrong_shape_is_refused_naming_both_sides(folder):
    bad = altered(folder, lambda s: s.__setitem__("layer1.0.conv1.weight",
                                                  torch.zeros(64, 32, 3, 3)))
    found = composer.match_weights(composer.load(folder / RESNET), "layer1_0", bad,
                                   "layer1.0.")
    assert not found.ok
    assert ("layer1_0/conv1.weight [64,64,3,3] <- layer1.0.conv1.weight [64,32,3,3]: "
            "shapes differ") in found.message()
    graph = with_weights(folder)
    graph.set_weights("layer1_0", {"path": bad, "prefix": "layer1.0.", "match": "names"})
    with pytest.raises(composer.WeightsError, match="shapes differ") as e:
        composer.compile(graph)
    assert e.value.node == "layer1_0" and "\n" not in str(e.value)


def test_a_missing_and_an_extra_tensor_are_refused_in_one_line(folder):
    def change(state):
        del state["layer1.0.bn1.running_var"]
        state["layer1.0.conv3.weight"] = torch.zeros(3)

    found = composer.match_weights(composer.load(folder / RESNET), "layer1_0",
                                   altered(folder, change), "layer1.0.")
    message = found.message()
    assert "layer1_0/bn1.running_var [64] <- nothing: not in the file" in message
    assert "nothing <- layer1.0.conv3.weight [3]: no place in the model" in message
    assert "(2 problems)" in message and "\n" not in message


def test_cli_refuses_a_mismatching_file_with_one_line_and_leaves_the_graph(folder):
    bad = altered(folder, lambda s: s.__setitem__("fc.weight", torch.zeros(1000, 512)))
    before = (folder / RESNET).read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "composer", "weights", RESNET, bad, "--apply"], cwd=folder,
        capture_output=True, text=True, timeout=120, env=os.environ | SINGLE_THREAD_ENV)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: fc: weights bad.pth (prefix 'fc.') do not fit (1 problem): fc.weight [10,512] "
        "<- fc.weight [1000,512]: shapes differ"]
    assert (folder / RESNET).read_bytes() == before


def test_cli_apply_writes_the_keys_and_the_file_reloads(folder, reference, capsys):
    assert cli.main(["weights", str(folder / RESNET), str(folder / "resnet18.pth"),
                     "--skip", "fc", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "fc: skipped; keeps its initial weights" in out
    assert "left out: 2 tensors" in out
    data = json.loads((folder / RESNET).read_text())
    keys = {n["id"]: n.get("weights") for n in data["nodes"]}
    assert keys["layer4_1"] == {"path": "resnet18.pth", "prefix": "layer4.1."}
    assert keys["fc"] is None
    graph = composer.load(folder / RESNET)
    assert not [d for d in composer.check(graph) if d.is_error]
    model = composer.compile(graph)
    torch.testing.assert_close(model.layer3_1.conv2.weight, reference.layer3[1].conv2.weight)


def test_a_run_starts_from_the_file_and_a_resume_takes_the_checkpoint(folder, reference):
    graph = with_weights(folder)
    start = composer.train(graph, steps=0).model.state_dict()
    torch.testing.assert_close(start["layer1_0.bn2.running_mean"],
                               reference.layer1[0].bn2.running_mean)
    torch.testing.assert_close(start["fc.weight"], reference.fc.weight)
    whole = composer.train(graph, steps=3).history
    composer.train(graph, steps=2, out_dir=folder / "run")
    (folder / "resnet18.pth").unlink()  # a resumed run reads its checkpoint, not the file
    resumed = composer.train(graph, steps=3, resume=folder / "run" / "checkpoint.pt").history
    last = [r for r in resumed if "loss" in r][-1]
    assert last["step"] == 2
    assert last["loss"] == pytest.approx([r for r in whole if "loss" in r][-1]["loss"],
                                         rel=1e-5)
    # a training checkpoint can itself be the weights file (its "model" entry)
    again = composer.match_graph_weights(graph, "run/checkpoint.pt")
    assert again.ok and len(again.nodes) == 11


def test_the_exported_script_loads_the_weights_from_its_data_dir(folder, reference, capsys):
    graph = with_weights(folder)
    script = load_program(composer.export_python(graph), "exported")  # the text export writes
    data = ["--data-dir", str(folder)]
    assert script.main(["--steps", "0", "--out", str(folder / "run"), *data]) == 0
    saved = torch.load(folder / "run" / "checkpoint.pt", weights_only=True)["model"]
    torch.testing.assert_close(saved["layer4_0.downsample_0.weight"],
                               reference.layer4[0].downsample[0].weight)
    (folder / "resnet18.pth").unlink()
    capsys.readouterr()
    assert script.main(["--steps", "1", "--out", str(folder / "run2"), *data]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: conv1: weights file ") and err.count("\n") == 1


def test_match_by_order_pairs_tensors_by_position_whatever_their_names(tmp_path):
    graph = chain([Group("g", ["a", "b"], ["ce"])])
    graph.base_dir = tmp_path
    w, b = torch.randn(10, 16), torch.randn(10)
    torch.save({"head.w": w, "head.bias_of_it": b, "other.x": torch.zeros(2)},
               tmp_path / "head.pt")
    assert not composer.match_weights(graph, "c", "head.pt", "head.").ok  # by names
    found = composer.match_weights(graph, "c", "head.pt", "head.", "order")
    assert found.ok, found.message()
    graph.set_weights("c", {"path": "head.pt", "prefix": "head.", "match": "order"})
    model = composer.compile(graph)
    torch.testing.assert_close(model.c.weight, w)
    torch.testing.assert_close(model.c.bias, b)


def test_a_weights_key_is_validated_where_it_is_written(tmp_path):
    graph = chain([Group("g", ["a", "b"], ["ce"])])
    data = graph.to_dict()
    data["nodes"][3]["weights"] = {"path": "x.pth", "match": "name"}
    with pytest.raises(composer.GraphFormatError) as e:
        composer.from_dict(data)
    assert str(e.value) == ('nodes[3] (b).weights.match: expected "names" or "order", '
                            'got "name"')
    data["nodes"][3]["weights"] = {"path": "x.pth", "prefx": "a."}
    with pytest.raises(composer.GraphFormatError, match=r"weights.prefx: .*did you mean prefix"):
        composer.from_dict(data)
    graph.set_weights("f", {"path": "x.pth", "prefix": "", "match": "names"})
    problems = [d for d in composer.check(graph) if d.node == "f"]
    assert [d.message for d in problems] == [
        "has a weights file but no weights to load it into: remove weights"]
    again = composer.loads(composer.dumps(graph))
    assert again.nodes["f"].weights == {"path": "x.pth", "prefix": "", "match": "names"}
    assert '"weights": {\n        "path": "x.pth"\n      }' in composer.dumps(graph)


def test_an_unreadable_weights_file_is_one_line_naming_the_file(tmp_path):
    graph = chain([Group("g", ["a", "b"], ["ce"])])
    graph.base_dir = tmp_path
    (tmp_path / "junk.pth").write_text("not a file torch wrote")
    with pytest.raises(composer.WeightsError, match="cannot read weights file .*junk.pth"):
        composer.match_weights(graph, "a", "junk.pth")
    graph.set_weights("a", {"path": "nope.pth", "prefix": "", "match": "names"})
    with pytest.raises(composer.TrainingError, match="a: weights file .*nope.pth.* does not "
                       "exist"):
        composer.train(graph, steps=1)
