"""`composer export FILE --onnx`: the inference path to chosen outputs, as onnxruntime runs it,
gives what the torch model gives, for any batch size, with the weights asked for."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from composed_graphs import single_threaded_torch

import composer
from composer import cli
from composer.export_onnx import EXAMPLE_BATCH, default_outputs, export_onnx
from composer.generate.compile import graph_program

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ROWS = 5  # the validation batch: not the export's example batch, so the batch is dynamic
assert ROWS != EXAMPLE_BATCH


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def validation_batch(graph: composer.Graph, rows: int = ROWS) -> dict[str, torch.Tensor]:
    """The first `rows` of each data node's first validation batch, as a run draws them."""
    data = graph_program(graph).make_data(graph.training.seed, graph.base_dir)
    return {port: t[:rows] for source in data.values()
            for port, t in source.val_batch(0, rows).items()}


def run_onnx(path: Path, batch: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: batch[i.name].numpy() for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed), strict=True))


def torch_outputs(model, batch: dict[str, torch.Tensor], outputs: list[str]) -> dict:
    with torch.no_grad():
        return {k: v.numpy() for k, v in model.eval()(batch, outputs).items()}


def assert_close(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, atol=1e-4, rtol=0, err_msg=name)


CASES = {
    "two heads of one trunk": ("multitask_digits", None),
    "generator and a network instance": ("gan_digits", ["g_img.out", "d_on_real.logit"]),
    "detector through roi_align": ("detector_shapes", ["rpn_box.out", "det_fc.out"]),
}


@pytest.mark.parametrize("sample, outputs", CASES.values(), ids=CASES.keys())
def test_onnxruntime_gives_what_torch_gives_on_a_batch_of_another_size(sample, outputs,
                                                                        tmp_path):
    graph = composer.load(SAMPLES / f"{sample}.graph.json")
    model = composer.compile(graph)  # weights of its own, not the export's initial ones
    done = export_onnx(graph, tmp_path / "m.onnx", outputs, weights=model.state_dict())
    outputs = outputs or default_outputs(graph)
    assert list(done.outputs) == outputs
    batch = validation_batch(graph)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == list(done.inputs)
    assert all(i.shape[0] == "batch" for i in session.get_inputs() + session.get_outputs())
    got = run_onnx(tmp_path / "m.onnx", batch)
    assert_close(got, torch_outputs(model, batch, outputs))
    assert all(v.shape[0] == ROWS for v in got.values())


def test_default_outputs_are_what_the_losses_score():
    graph = composer.load(SAMPLES / "multitask_digits.graph.json")
    assert default_outputs(graph) == ["cls_fc.out", "rec_out.out"]


def test_weights_of_a_trained_checkpoint_give_the_trained_models_outputs(tmp_path, capsys):
    path = SAMPLES / "hierarchical_digits.graph.json"
    assert cli.main(["train", str(path), "--steps", "5", "--out", str(tmp_path / "run")]) == 0
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    assert cli.main(["export", str(path), "--onnx", str(tmp_path / "trained.onnx"),
                     "--weights", str(checkpoint)]) == 0
    said = capsys.readouterr().err.strip().splitlines()
    assert said[-1] == (f"wrote {tmp_path / 'trained.onnx'}: inputs digits.x [batch,1,8,8]; "
                        f"outputs fc2.out [batch,10]; weights from {checkpoint}")
    assert cli.main(["export", str(path), "--onnx", str(tmp_path / "initial.onnx")]) == 0

    graph = composer.load(path)
    trained = composer.compile(graph)
    trained.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    initial = composer.train(graph, steps=0).model  # what a run of the graph's seed starts as
    batch = validation_batch(graph)
    from_trained = run_onnx(tmp_path / "trained.onnx", batch)
    assert_close(from_trained, torch_outputs(trained, batch, ["fc2.out"]))
    from_initial = run_onnx(tmp_path / "initial.onnx", batch)
    assert_close(from_initial, torch_outputs(initial, batch, ["fc2.out"]))
    assert np.abs(from_trained["fc2.out"] - from_initial["fc2.out"]).max() > 1e-2


def export_errors(capsys, *args: str) -> list[str]:
    """The lines on stderr of a `composer export` that fails, having written nothing."""
    capsys.readouterr()  # what came before is not this command's
    code = cli.main(["export", str(SAMPLES / "multitask_digits.graph.json"), *args])
    assert code == 1
    return capsys.readouterr().err.strip().splitlines()


def test_a_mistyped_output_is_one_line_with_a_suggestion(tmp_path, capsys):
    lines = export_errors(capsys, "--onnx", str(tmp_path / "m.onnx"), "--outputs",
                          "cls_fc.out,rec_outt.out")
    assert len(lines) == 1
    assert lines[0].startswith("error: no output 'rec_outt.out'; did you mean rec_out.out? "
                               "choose from trunk1.out, ")
    assert not (tmp_path / "m.onnx").exists()


def test_a_loss_output_is_refused_naming_what_it_scores(tmp_path, capsys):
    lines = export_errors(capsys, "--onnx", str(tmp_path / "m.onnx"), "--outputs",
                          "cls_loss.loss")
    assert lines == ["error: cls_loss.loss is a loss's value, not an inference output; "
                     "choose what it scores, cls_fc.out"]


def test_weights_that_do_not_fit_name_the_keys(tmp_path, capsys):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    lines = export_errors(capsys, "--onnx", str(tmp_path / "m.onnx"), "--weights",
                          str(tmp_path / "other.pt"))
    assert len(lines) == 1
    assert lines[0].startswith("error: other.pt does not fit this graph: missing trunk1.0.weight")


def test_without_the_onnx_extra_export_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # `import onnxscript` now fails
    lines = export_errors(capsys, "--onnx", str(tmp_path / "m.onnx"))
    assert lines == ["error: ONNX export needs the onnx extra: pip install 'model-composer[onnx]'"]


def test_weights_and_outputs_belong_to_onnx_export(tmp_path, capsys):
    lines = export_errors(capsys, "-o", str(tmp_path / "m.py"), "--outputs", "cls_fc.out")
    assert lines == ["error: --weights and --outputs go with --onnx"]
