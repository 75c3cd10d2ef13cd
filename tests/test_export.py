"""The exported file: standalone, lint-clean, free of runtime code the graph does not use, and
training exactly as the application does, for every sample and every test graph."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from composed_graphs import SINGLE_THREAD_ENV, chain, gan, single_threaded_torch

import composer
from composer import cli
from composer.graph import Group


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted((ROOT / "samples").glob("*.graph.json")) + \
    sorted((ROOT / "tests" / "graphs").glob("*.graph.json"))


def _id(path: Path) -> str:
    return path.name.removesuffix(".graph.json")


def step_losses(lines: list[dict]) -> list[dict]:
    return [r["loss"] for r in lines if "loss" in r]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_same_losses(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for step, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x.keys() == y.keys(), step
        assert list(x.values()) == pytest.approx(list(y.values()), rel=1e-6), step


def test_exported_files_are_lint_clean_and_import_nothing_of_composer(tmp_path):
    for path in GRAPHS:
        (tmp_path / f"{_id(path)}.py").write_text(composer.export_python(composer.load(path)))
    for out in tmp_path.glob("*.py"):
        tree = ast.parse(out.read_text())
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m.startswith("composer") for m in modules), out.name
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--config", str(ROOT / "pyproject.toml"),
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_export_carries_only_the_runtime_pieces_the_graph_uses():
    source = composer.export_python(chain([Group("g", ["a", "b"], ["ce"])]))
    for unused in ("class Noise", "def shapes_arrays", "def tensor_arrays", "def cosine_lr",
                   "def random_rotate", "class Residual", "class Attention", "def roi_align",
                   "def image_folder_arrays"):
        assert unused not in source, unused
    for used in ("class Batches", "def digits_arrays", "class Model", "def train",
                 "def main", "torch.optim.Adam("):
        assert used in source, used
    gan_source = composer.export_python(gan())
    assert "class Noise" in gan_source and "def shapes_arrays" not in gan_source


def test_exported_file_runs_with_composer_impossible_to_import(tmp_path):
    out = tmp_path / "gan.py"
    assert cli.main(["export", str(ROOT / "samples" / "gan_digits.graph.json"), "-o",
                     str(out)]) == 0
    blocked = ("import runpy, sys; sys.modules['composer'] = None; "
               f"sys.argv = [{str(out)!r}, '--steps', '3', '--out', 'run']; "
               f"runpy.run_path({str(out)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", blocked], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=os.environ | SINGLE_THREAD_ENV)
    assert result.returncode == 0, result.stderr
    assert "finished after 3 steps" in result.stderr
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


# The published architectures' steps take a second each: fewer of them show the same.
SHORTER = {"dcgan_color_digits": 6, "resnet18_color_digits": 6}


@pytest.mark.slow
@pytest.mark.parametrize("path", GRAPHS, ids=[_id(p) for p in GRAPHS])
def test_app_cli_and_exported_file_train_alike_and_resume_exactly(path, tmp_path):
    steps = SHORTER.get(_id(path), 20)
    half = steps // 2
    assert cli.main(["train", str(path), "--steps", str(steps), "--out", str(tmp_path / "cli"),
                     "--metrics-out", str(tmp_path / "cli.jsonl"),
                     "--checkpoint-every", str(half)]) == 0
    app = step_losses(read_jsonl(tmp_path / "cli.jsonl"))
    assert len(app) == steps
    resumed = composer.train(composer.load(path), steps=steps,
                             resume=tmp_path / "cli" / f"checkpoint_step{half}.pt")
    assert_same_losses(step_losses(resumed.history), app[half:])

    out = tmp_path / "exported.py"
    assert cli.main(["export", str(path), "-o", str(out)]) == 0
    exported = subprocess.run(
        [sys.executable, str(out), "--steps", str(steps), "--metrics-out", "exported.jsonl",
         "--out", "exported", "--data-dir", str(path.parent)], cwd=tmp_path,
        capture_output=True, text=True, timeout=300, env=os.environ | SINGLE_THREAD_ENV)
    assert exported.returncode == 0, exported.stderr
    assert_same_losses(step_losses(read_jsonl(tmp_path / "exported.jsonl")), app)
