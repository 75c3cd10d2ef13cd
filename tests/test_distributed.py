"""Training in two processes (torch.distributed.run, gloo on the CPU) gives the numbers of one
process: per-step losses, validation and final weights, for every kind of schedule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from composer.fileformat import save
from composer.generate.compile import graph_program
from composer.generate.program import export_python
from composer.graph import Edge, Group, Node
from composer.train import train
from tests.composed_graphs import SINGLE_THREAD_ENV, chain, gan, multitask

ROOT = Path(__file__).resolve().parent.parent
STEPS = 20
ENV = {**os.environ, **SINGLE_THREAD_ENV, "PYTHONPATH": str(ROOT)}


def staged():
    """Epoch windows (one group, then another on what the first trained) and a repeat."""
    window = {"every": 1, "offset": 0, "repeat": 1}
    return chain([Group("first", ["a", "b"], ["ce"], schedule={**window, "epochs": [0, 2]}),
                  Group("then", ["c"], ["ce2"], schedule={**window, "epochs": [2, None],
                                                          "repeat": 2})],
                 steps_per_epoch=5)


def batchnorm_gan():
    """The GAN with a batch norm in its generator, synchronised across processes (after a
    linear layer without bias: a bias there gets only rounding noise as its gradient)."""
    g = gan()
    g.nodes["g1"].params["bias"] = False
    g.nodes["bn"] = Node("bn", "layer.batchnorm1d", {})
    g.edges = [e for e in g.edges if not (e.src == "g1" and e.dst == "g2")]
    g.edges += [Edge("g1", "out", "bn", "in"), Edge("bn", "out", "g2", "in")]
    g.training.sync_batchnorm = True
    return g


def one_process(graph, out: Path) -> list[dict]:
    with _threads(1):
        return train(graph, steps=STEPS, out_dir=out).history


class _threads:
    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        torch.set_num_threads(self.before)


def composer_train(file: Path, out: Path, *extra: str, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "composer", "train", str(file), "--steps", str(STEPS),
         "--out", str(out), "--metrics-out", str(out / "metrics.jsonl"), *extra],
        capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_same_run(one: list[dict], two: list[dict], out_one: Path, out_two: Path) -> None:
    assert [r.keys() for r in one] == [r.keys() for r in two]
    for a, b in zip(one, two, strict=True):
        for kind in ("loss", "val"):
            for node, value in a.get(kind, {}).items():
                assert b[kind][node] == pytest.approx(value, rel=1e-5, abs=1e-7), (a, b)
    w1 = torch.load(out_one / "checkpoint.pt", weights_only=True)["model"]
    w2 = torch.load(out_two / "checkpoint.pt", weights_only=True)["model"]
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-6, msg=key)


@pytest.mark.parametrize("make", [gan, multitask, staged, batchnorm_gan],
                         ids=["gan", "multitask", "staged", "gan_sync_batchnorm"])
def test_two_processes_give_the_losses_and_weights_of_one(make, tmp_path):
    graph = make()
    file = tmp_path / "g.graph.json"
    save(graph, file)
    one = one_process(graph, tmp_path / "one")
    done = composer_train(file, tmp_path / "two", "--nproc", "2")
    assert done.returncode == 0, done.stderr
    assert "finished after 20 steps" in done.stderr
    assert_same_run(one, records(tmp_path / "two" / "metrics.jsonl"), tmp_path / "one",
                    tmp_path / "two")


def test_the_exported_script_under_torchrun_gives_the_losses_of_one_process(tmp_path):
    graph = gan()
    script = tmp_path / "gan.py"
    script.write_text(export_python(graph))
    one = one_process(graph, tmp_path / "one")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), "--steps", str(STEPS), "--out", str(tmp_path / "two"),
         "--metrics-out", str(tmp_path / "two" / "metrics.jsonl")],
        capture_output=True, text=True, env={**os.environ, **SINGLE_THREAD_ENV}, timeout=120,
        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_run(one, records(tmp_path / "two" / "metrics.jsonl"), tmp_path / "one",
                    tmp_path / "two")


def test_a_two_process_checkpoint_resumes_in_one_process_as_an_unbroken_run(tmp_path):
    graph = multitask()
    file = tmp_path / "g.graph.json"
    save(graph, file)
    with _threads(1):
        unbroken = train(graph, steps=2 * STEPS).history
    done = composer_train(file, tmp_path / "two", "--nproc", "2")
    assert done.returncode == 0, done.stderr
    with _threads(1):
        resumed = train(graph, steps=2 * STEPS, resume=tmp_path / "two" / "checkpoint.pt")
    later = [r for r in unbroken if "loss" in r and r["step"] >= STEPS]
    again = [r for r in resumed.history if "loss" in r]
    assert [r["step"] for r in again] == [r["step"] for r in later]
    for a, b in zip(later, again, strict=True):
        for node, value in a["loss"].items():
            assert b["loss"][node] == pytest.approx(value, rel=1e-5)


def test_a_batch_that_does_not_divide_among_the_processes_is_refused(tmp_path):
    graph = multitask()
    graph.nodes["d"].params["batch_size"] = 30
    file = tmp_path / "g.graph.json"
    save(graph, file)
    done = composer_train(file, tmp_path / "out", "--nproc", "4")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: d: batch_size 30 does not divide among 4 processes: each draws an equal share "
        "of every batch; make it a multiple of 4")


def test_killing_one_process_ends_the_run_with_its_rank_and_leaves_none_running(tmp_path):
    graph = multitask()
    file = tmp_path / "g.graph.json"
    save(graph, file)
    out = tmp_path / "out"
    started = time.monotonic()
    run = subprocess.Popen(
        [sys.executable, "-m", "composer", "train", str(file), "--steps", "100000",
         "--out", str(out), "--nproc", "2", "--metrics-out", str(out / "metrics.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        pids = _wait_for_pids(out / "processes", 2, run)
        _wait_for(lambda: (out / "metrics.jsonl").exists()
                  and (out / "metrics.jsonl").stat().st_size > 0, run)  # training is under way
        killed_at = time.monotonic()
        os.kill(pids[1], signal.SIGKILL)
        _, stderr = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert time.monotonic() - killed_at < 30, time.monotonic() - started
    assert run.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: rank 1: "), stderr
    assert "Traceback" not in stderr
    for pid in pids:
        assert not _alive(pid), f"process {pid} outlived the run"


def test_a_stop_request_stops_every_process_at_the_same_step_with_a_checkpoint(tmp_path):
    graph = multitask()
    file = tmp_path / "g.graph.json"
    save(graph, file)
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "composer", "train", str(file), "--steps", "100000",
         "--out", str(out), "--nproc", "2", "--metrics-out", str(out / "metrics.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        pids = _wait_for_pids(out / "processes", 2, run)
        _wait_for(lambda: (out / "metrics.jsonl").exists()
                  and (out / "metrics.jsonl").stat().st_size > 0, run)
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    done = [json.loads((out / "processes" / f"rank{r}.done").read_text()) for r in (0, 1)]
    assert [d["status"] for d in done] == ["stopped", "stopped"]
    assert done[0]["step"] == done[1]["step"]
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == done[0]["step"]
    assert f"stopped after {done[0]['step']} steps" in stderr
    for pid in pids:
        assert not _alive(pid)


def _wait_for(ready, run: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "not ready within 60 s"
        time.sleep(0.05)


def _wait_for_pids(folder: Path, n: int, run: subprocess.Popen) -> list[int]:
    paths = [folder / f"rank{r}.pid" for r in range(n)]
    _wait_for(lambda: all(p.exists() and p.stat().st_size for p in paths), run)
    return [json.loads(p.read_text())["pid"] for p in paths]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by its parent) counts as ended
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_an_error_in_one_process_ends_the_run_with_that_process_message(tmp_path):
    """A broken image in the rows only rank 1 reads: rank 0 is left waiting for it in the
    gradient exchange, and must not wait for the exchange's timeout."""
    from tests.test_streaming_data import classifier, image_folder

    image_folder(tmp_path)
    g = classifier(tmp_path)
    source = graph_program(g).make_data(g.training.seed, tmp_path)["t"]
    first_of_rank1 = source.train[source._pass_order(0)[1 * 8 + 4]]  # batch 1, row 4 of 8
    name = source.rows.files[first_of_rank1]
    path = tmp_path / "imgs" / name
    path.write_bytes(path.read_bytes()[:60])  # a PNG header, then nothing
    save(g, tmp_path / "g.graph.json")
    out = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "composer", "train", "g.graph.json", "--steps", "6", "--out",
         str(out), "--nproc", "2"], cwd=tmp_path, capture_output=True, text=True, env=ENV,
        timeout=120)
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert errors == [line for line in errors if line.startswith(
        f"error: rank 1: t: cannot read '{name}' as an image (")] and len(errors) == 1, \
        done.stderr
    assert "Traceback" not in done.stderr
    pids = [json.loads((out / "processes" / f"rank{r}.pid").read_text())["pid"] for r in (0, 1)]
    assert not any(_alive(pid) for pid in pids)
