"""An exported script holds no path of the machine that wrote it: it reads relative data paths
from its own folder, or from --data-dir, so a copy moved with its data trains the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from composed_graphs import SINGLE_THREAD_ENV, single_threaded_torch

from composer import cli

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "tests" / "graphs" / "tensors_adamw_adam.graph.json"  # reads data/*.npz, *.pt
STEPS = "8"  # the second group, on data/maps.pt, starts at step 6


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


def step_losses(path: Path) -> list[tuple[str, float]]:
    """(loss node, value) of every step, in order."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [(node, value) for r in records if "loss" in r for node, value in r["loss"].items()]


def assert_same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> None:
    assert [node for node, _ in a] == [node for node, _ in b]
    assert [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-6)


def run_script(script: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(script), "--steps", STEPS, "--metrics-out", "m.jsonl",
         "--out", "run", *extra], cwd=cwd, capture_output=True, text=True, timeout=300,
        env=os.environ | SINGLE_THREAD_ENV)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> list[tuple[str, float]]:
    """Per-step losses of `composer train` on the graph where it lies."""
    out = tmp_path_factory.mktemp("train")
    assert cli.main(["train", str(GRAPH), "--steps", STEPS, "--out", str(out / "run"),
                     "--metrics-out", str(out / "m.jsonl")]) == 0
    return step_losses(out / "m.jsonl")


def export(to: Path, capsys) -> str:
    to.parent.mkdir(parents=True, exist_ok=True)
    assert cli.main(["export", str(GRAPH), "-o", str(to)]) == 0
    return capsys.readouterr().err


def copy_with_data(folder: Path) -> Path:
    """The graph and its data folder copied into `folder`; the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(GRAPH, folder / GRAPH.name)
    shutil.copytree(GRAPH.parent / "data", folder / "data")
    return folder / GRAPH.name


def test_a_script_moved_with_its_data_trains_as_composer_train_did(tmp_path, trained):
    source = copy_with_data(tmp_path / "source")
    assert cli.main(["export", str(source), "-o", str(source.parent / "model.py")]) == 0
    other = tmp_path / "other"
    other.mkdir()
    shutil.move(source.parent / "model.py", other / "model.py")
    shutil.move(source.parent / "data", other / "data")
    shutil.rmtree(source.parent)  # nothing is left where it was exported
    result = run_script(other / "model.py", tmp_path / "third")  # run from a third folder
    assert result.returncode == 0, result.stderr
    assert_same(step_losses(tmp_path / "third" / "m.jsonl"), trained)


def test_data_dir_points_a_lone_script_at_the_data(tmp_path, trained, capsys):
    said = export(tmp_path / "lone" / "model.py", capsys)
    assert f"--data-dir {GRAPH.parent}" in said and "data/vectors.npz, data/maps.pt" in said
    result = run_script(tmp_path / "lone" / "model.py", tmp_path / "run2",
                        "--data-dir", str(GRAPH.parent))
    assert result.returncode == 0, result.stderr
    assert_same(step_losses(tmp_path / "run2" / "m.jsonl"), trained)


def test_the_script_holds_no_path_of_the_exporting_machine(tmp_path, capsys):
    export(tmp_path / "model.py", capsys)
    text = (tmp_path / "model.py").read_text()
    for path in (ROOT, GRAPH.parent, tmp_path, Path.home(), Path.cwd()):
        assert str(path) not in text, path
    assert '"data/vectors.npz"' in text and "Path(__file__).resolve().parent" in text


def test_a_script_written_beside_its_graph_says_it_reads_from_there(tmp_path, capsys):
    copy = copy_with_data(tmp_path)
    assert cli.main(["export", str(copy), "-o", str(tmp_path / "model.py")]) == 0
    said = capsys.readouterr().err
    assert "it reads data/vectors.npz, data/maps.pt from its own folder" in said
    assert "--data-dir" not in said
