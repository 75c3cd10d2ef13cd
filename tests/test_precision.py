"""training.precision and training.compile: what they change in a run, what they keep (losses
to tolerance, checkpoints, resume), and how bad values and unsuited devices are refused."""

from __future__ import annotations

import json
import runpy
import sys

import pytest
import torch
from composed_graphs import chain, gan, single_threaded_torch

import composer
from composer.errors import GraphFormatError
from composer.fileformat import from_dict as graph_from_dict
from composer.fileformat import validate as file_validate
from composer.generate.program import export_python
from composer.graph import Group
from composer.runtime import data, precision
from composer.runtime.errors import TrainingFailure


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def classifier():
    return chain([Group("g", ["a", "b"], ["ce"])], steps_per_epoch=5)


def step_losses(run) -> list[dict[str, float]]:
    return [r["loss"] for r in run.history if "loss" in r]


def largest_gap(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    assert len(a) == len(b) and a
    return max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x)


def test_bf16_mixed_trains_on_the_cpu_close_to_float32_but_not_equal():
    g = classifier()
    full = step_losses(composer.train(g, steps=8))
    g.training.precision = "bf16-mixed"
    mixed = composer.train(g, steps=8)
    losses = step_losses(mixed)
    assert all(isinstance(v, float) and v == v for r in losses for v in r.values())
    assert 0 < largest_gap(full, losses) < 0.05  # bfloat16 keeps 8 bits of mantissa
    assert all(p.dtype == torch.float32 for p in mixed.model.parameters())  # weights stay fp32


def test_16_mixed_scales_each_group_checkpoints_the_scalers_and_resumes_exactly(tmp_path):
    g = gan()  # two groups, so two scalers
    g.training.precision = "16-mixed"
    # the generated program has its own copy of PerformanceWarning: matched by its text
    with pytest.warns(UserWarning, match="training.precision 16-mixed on the CPU"):
        whole = composer.train(g, steps=6, out_dir=tmp_path / "a", checkpoint_every=3)
    state = torch.load(tmp_path / "a" / "checkpoint_step3.pt", weights_only=True)
    assert set(state["scalers"]) == {grp.id for grp in g.groups}
    assert all(s["scale"] > 0 for s in state["scalers"].values())
    with pytest.warns(UserWarning, match="16-mixed"):
        resumed = composer.train(g, steps=6, out_dir=tmp_path / "b",
                                 resume=tmp_path / "a" / "checkpoint_step3.pt")
    assert step_losses(resumed) == step_losses(whole)[3:]
    g.training.precision = "32"
    assert largest_gap(step_losses(composer.train(g, steps=6)), step_losses(whole)) < 0.01


def test_precision_is_refused_at_load_naming_the_setting_and_the_choices():
    base = classifier().to_dict()
    for key, bad, expected in (("precision", "fp16", '"32", "bf16-mixed", "16-mixed"'),
                               ("precision", 16, '"32", "bf16-mixed", "16-mixed"'),
                               ("compile", "yes", "true or false")):
        data_ = json.loads(json.dumps(base))
        data_["training"][key] = bad
        with pytest.raises(GraphFormatError) as e:
            graph_from_dict(data_)
        assert e.value.where == f"training.{key}" and expected in str(e.value)


def test_a_file_without_the_keys_saves_without_them_and_one_with_them_round_trips():
    g = classifier()
    assert "precision" not in g.to_dict()["training"]
    assert "compile" not in g.to_dict()["training"]
    g.training.precision, g.training.compile = "bf16-mixed", True
    again = graph_from_dict(json.loads(json.dumps(g.to_dict())))
    assert (again.training.precision, again.training.compile) == ("bf16-mixed", True)


def test_the_runtime_knows_the_precisions_the_file_format_allows():
    assert precision.PRECISIONS == file_validate.PRECISION.choices


def test_bf16_on_a_gpu_without_bfloat16_says_what_to_use(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    with pytest.raises(TrainingFailure) as e:
        precision.check_precision("bf16-mixed", torch.device("cuda"))
    assert str(e.value) == ("training.precision bf16-mixed needs a GPU with bfloat16 arithmetic, "
                            "which Tesla T4 lacks: use 16-mixed or 32")
    precision.check_precision("16-mixed", torch.device("cuda"))  # float16 works on every GPU


def test_batches_go_to_cuda_through_pinned_memory_without_blocking(monkeypatch):
    moves = []

    class Pinned:
        def to(self, device, non_blocking=False):
            moves.append((device.type, non_blocking))
            return "on the gpu"

    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: Pinned())
    t = torch.zeros(2)
    assert data.to_device(t, torch.device("cuda")) == "on the gpu"
    assert moves == [("cuda", True)]
    assert data.to_device(t, torch.device("cpu")) is t  # no pinning, no copy on the CPU
    assert moves == [("cuda", True)]


def test_exported_script_honours_precision_and_compile(tmp_path, monkeypatch, capsys):
    """One compile (a tiny model compiles in seconds): the exported script with
    `training.compile` gives the eager losses, says once that compiling on a CPU is slow, and
    reports the first step's time apart. The script runs in this process, as `python train.py`
    would run it: a fresh process would spend half a minute starting torch.compile's compiler."""
    g = classifier()
    g.training.precision, g.training.compile = "bf16-mixed", True
    script = tmp_path / "train.py"
    script.write_text(export_python(g), encoding="utf-8")
    assert '    precision="bf16-mixed",\n    compile=True,\n' in script.read_text("utf-8")
    metrics = tmp_path / "m.jsonl"
    monkeypatch.setattr(sys, "argv", [str(script), "--steps", "3", "--out",
                                      str(tmp_path / "run"), "--metrics-out", str(metrics)])
    with pytest.raises(SystemExit) as ended, pytest.warns(UserWarning) as warned:
        runpy.run_path(str(script), run_name="__main__")
    stderr = capsys.readouterr().err
    assert ended.value.code == 0, stderr
    said = [str(w.message) for w in warned]
    assert len([w for w in said if w.startswith("training.compile on the CPU")]) == 1, said
    assert "torch.compile: the first step took" in stderr
    records = map(json.loads, metrics.read_text(encoding="utf-8").splitlines())
    compiled = [r["loss"] for r in records if "loss" in r]
    eager = composer.train(g, steps=3, compile=False)  # bf16-mixed as well
    assert largest_gap(step_losses(eager), compiled) < 1e-4


def test_compile_keeps_the_one_forward_of_a_gan_and_its_losses():
    """The generator's image computed in the discriminator's update serves the generator's
    update: compiled, each node's module is its own graph, so that second backward works."""
    g = gan()
    eager = step_losses(composer.train(g, steps=3))
    with pytest.warns(UserWarning, match="training.compile on the CPU"):
        compiled = step_losses(composer.train(g, steps=3, compile=True))
    assert largest_gap(eager, compiled) < 1e-4
