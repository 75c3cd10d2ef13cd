"""Code generation: readable source, one statement per node, only what is asked is computed,
errors name the node, and nothing from the file reaches the code except as checked names and
literals."""

from __future__ import annotations

import ast
import traceback

import pytest
import torch
from composed_graphs import gan, graph, hierarchical, multitask, single_threaded_torch

import composer
from composer.errors import CompileError
from composer.generate.codegen import model_code
from composer.generate.compile import graph_program
from composer.generate.program import program_source
from composer.graph import Edge


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def test_forward_has_one_guarded_statement_per_node_with_its_shape():
    source = model_code(hierarchical()).source
    assert 'if "e3" in need:  # [B,16,4,4]' in source
    assert "e3 = self.e3(e2)" in source
    assert "e2 = F.max_pool2d(e1, kernel_size=2)" in source
    assert 'e1 = self.e1(batch["d.x"])' in source
    assert 'if "ce" in need:  # scalar' in source
    compute_nodes = [n for n in hierarchical().nodes if n != "d"]
    assert source.count(" in need:") == len(compute_nodes)


def test_state_dict_keys_are_node_ids_and_shared_nodes_are_one_module():
    model = composer.compile(gan())
    keys = set(model.state_dict())
    assert {"g1.weight", "g1.bias", "r2.weight", "r4.bias"} <= keys
    assert model.f2 is model.r2 and model.q4 is model.r4
    assert "self.f2 = self.r2  # shares r2" in model_code(gan()).source
    unique = {id(p) for p in model.parameters()}
    assert len(unique) == 8  # g1, g3, r2, r4: weight and bias each, once


def test_forward_computes_only_what_the_requested_outputs_need():
    model = composer.compile(multitask())
    called = []
    for name in ("t1", "a1", "b1"):
        getattr(model, name).register_forward_hook(lambda m, i, o, n=name: called.append(n))
    x = torch.rand(4, 1, 8, 8)
    out = model({"d.x": x}, outputs=["a1.out"])  # no labels needed for the logits
    assert list(out) == ["a1.out"] and out["a1.out"].shape == (4, 10)
    assert called == ["t1", "a1"]
    assert model({"d.x": x}, outputs=("d.x",))["d.x"] is x


def test_missing_batch_input_and_unknown_output_are_named():
    model = composer.compile(multitask())
    with pytest.raises(KeyError, match="d.y"):
        model({"d.x": torch.rand(2, 1, 8, 8)}, outputs=["ce.loss"])
    with pytest.raises(KeyError, match="nope.out"):
        model({"d.x": torch.rand(2, 1, 8, 8)}, outputs=["nope.out"])


def test_node_ids_that_clash_with_python_or_torch_names_get_fresh_variables():
    g = graph({"d": "data.digits", "input": "layer.flatten",
               "torch": ("layer.linear", {"out_features": 10}), "sum": "layer.relu",
               "F": "loss.cross_entropy"},
              ["d.x -> input.in", "input.out -> torch.in", "torch.out -> sum.in",
               "sum.out -> F.pred", "d.y -> F.target"],
              [composer.Group("g", ["torch"], ["F"])])
    source = model_code(g).source
    assert "input_2 = torch.flatten(" in source and "torch_2 = self.torch(input_2)" in source
    assert 'renamed={"input": "input_2", "torch": "torch_2", "sum": "sum_2", "F": "F_2"}' in source
    model = composer.compile(g)
    out = model({"d.x": torch.rand(3, 1, 8, 8), "d.y": torch.tensor([1, 2, 3])},
                outputs=["F.loss", "sum.out"])
    assert out["F.loss"].ndim == 0 and out["sum.out"].shape == (3, 10)


def test_compile_error_names_the_node_with_an_unwired_input():
    g = hierarchical()
    g.edges = [e for e in g.edges if e.dst != "c1"]
    with pytest.raises(CompileError) as e:
        composer.compile(g)
    assert e.value.node == "c1" or e.value.node.startswith("c1.")


def test_compile_error_names_the_node_whose_shapes_do_not_fit():
    g = hierarchical()
    g.nodes["cat"] = composer.Node("cat", "merge.concat")
    g.edges += [Edge("e1", "out", "cat", "in0"), Edge("e3", "out", "cat", "in1")]
    with pytest.raises(CompileError) as e:
        composer.compile(g)
    assert e.value.node.split(".")[0] == "cat"
    assert "[B,16,4,4]" in str(e.value) and "[B,8,8,8]" in str(e.value)


def test_a_cycle_is_refused_naming_a_node_on_it():
    g = hierarchical()
    g.edges.append(Edge("c2", "out", "c1", "in"))
    g.edges = [e for e in g.edges if not (e.dst == "c1" and e.src == "e5")]
    with pytest.raises(CompileError) as e:
        composer.compile(g)
    assert e.value.node in ("c1", "c2", "c3", "ce")


def test_exception_in_a_node_names_the_node_and_the_traceback_shows_generated_lines():
    model = composer.compile(gan())
    try:
        model({"z.z": torch.rand(2, 15)}, outputs=["g5.out"])
    except RuntimeError as e:
        text = "".join(traceback.format_exception(e))
        program = graph_program(gan())
        assert program.failing_node(e, model) == "g1"
        assert 'g1 = self.g1(batch["z.z"])' in text  # the generated line, as linecache has it
    else:
        pytest.fail("a wrong input width must fail")


def test_labels_and_names_reach_the_code_only_as_escaped_literals():
    g = multitask()
    g.name = 'evil"""\nimport os; os.system("echo hacked")\n"""'
    g.description = "')\nraise SystemExit\n#"
    g.nodes["t1"].label = '"""; import shutil; shutil.rmtree("/")'
    source = program_source(g)
    tree = ast.parse(source)
    assert "shutil" not in source and "SystemExit" not in source
    assert "echo hacked" not in [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == g.name]
    assert len(names) == 1  # exactly the PROGRAM's name=, as one string constant


def test_unvalidated_parameter_values_are_refused_before_they_reach_code():
    g = hierarchical()
    g.nodes["c1"].params["out_features"] = "10); import os; (1"
    with pytest.raises(CompileError) as e:
        program_source(g)
    assert e.value.node == "c1" or "c1" in str(e.value)


def test_every_statement_of_the_generated_forward_is_short_enough_to_read():
    for g in (hierarchical(), multitask(), gan()):
        assert max(len(line) for line in model_code(g).source.splitlines()) <= 100
