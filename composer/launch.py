"""`composer train FILE --nproc N`: the graph's program (the text `export` writes) run by
torch.distributed.run in N processes.

The program and what its processes report (pids, failures, stderr) go into the run's
`processes/` folder. Rank 0's stderr is shown as the run goes and its stdout is this
command's; torchrun's own logging stays in `processes/launcher.log`. A failure in any process
ends the run with that process's message on one line; no process outlives the command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from composer.errors import CompileError
from composer.graph import Graph

STOP_WAIT_S = 60  # after a stop request, how long the processes may take to finish their step
RANKS_DIR_ENV = "COMPOSER_RANKS_DIR"  # as composer/runtime/distributed.py reads it


class Interrupted(Exception):
    """SIGTERM or SIGINT reached `composer train`."""


def check_batches(graph: Graph, nproc: int) -> None:
    """Every data node's batch must split into `nproc` equal shares."""
    from composer.generate.codegen import analysed

    params = analysed(graph).params
    for node in graph.nodes.values():
        size = params.get(node.id, {}).get("batch_size")
        if graph.type_of(node).is_data and size is not None and size % nproc:
            raise CompileError(node.id, f"batch_size {size} does not divide among {nproc} "
                               "processes: each draws an equal share of every batch; make it "
                               f"a multiple of {nproc}")


def launch_command(script: Path, nproc: int, data_dir: Path, out: Path,
                   options: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", "--max-restarts=0", str(script),
            "--data-dir", str(data_dir), "--out", str(out), *options]


def train_processes(graph: Graph, nproc: int, out: Path, options: list[str]
                    ) -> tuple[str, dict[str, Any] | None]:
    """Trains in `nproc` processes. Returns how the run ended: ("finished" or "stopped",
    None) as its processes reported, or ("failed", {"message", "node", "group", "step"}),
    the message printed as `error: rank R: ...`."""
    from composer.generate.program import program_source

    check_batches(graph, nproc)
    folder = Path(out) / "processes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    script = folder / "program.py"
    script.write_text(program_source(graph), encoding="utf-8")
    env = {**os.environ, RANKS_DIR_ENV: str(folder.resolve())}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env.setdefault("OMP_NUM_THREADS", str(max(1, (cpus or 1) // nproc)))
    command = launch_command(script, nproc, Path(graph.base_dir).resolve(), out, options)
    shown = threading.Event()
    tail = threading.Thread(target=_follow, args=(folder / "rank0.err", shown), daemon=True)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    with open(folder / "launcher.log", "wb") as log:
        launcher = subprocess.Popen(command, stderr=log, env=env, start_new_session=True)
    tail.start()
    try:
        try:
            launcher.wait()
        except Interrupted:  # ask every process to stop after its step, then make sure
            _signal_group(launcher, signal.SIGTERM)
            try:
                launcher.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _signal_group(launcher, signal.SIGKILL)
        launcher.wait()
        _end_stragglers(folder)
        shown.set()
        tail.join()
    said = _reports(folder, nproc)
    if all(said[r].get("done") for r in range(nproc)):
        return said[0]["done"].get("status", "finished"), None
    failure = _failure(said, folder)
    _last_event(options, failure)
    print(f"error: {failure['message']}", file=sys.stderr)
    return "failed", failure


def _last_event(options: list[str], failure: dict) -> None:
    """With `--events`, the run's last event is the launcher's conclusion: rank 0's own error
    event may only say that another process went away."""
    if "--events" not in options:
        return
    where = options[options.index("--events") + 1]
    event = json.dumps({"kind": "error", **failure}) + "\n"
    try:
        if where == "-":
            sys.stdout.write(event)
            sys.stdout.flush()
        else:
            with open(where, "a", encoding="utf-8") as f:
                f.write(event)
    except OSError:
        pass  # the reader went away; the error line on stderr remains


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted()


def _signal_group(launcher: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(launcher.pid, sig)
    except ProcessLookupError:
        pass


def _follow(path: Path, done: threading.Event) -> None:
    """Copies what is written to `path` onto stderr until `done` and the file's end."""
    at = 0
    while True:
        finished = done.wait(0.1)
        if path.exists():
            with open(path, "rb") as f:
                f.seek(at)
                chunk = f.read()
            at += len(chunk)
            if chunk:
                sys.stderr.write(chunk.decode("utf-8", "replace"))
                sys.stderr.flush()
        if finished:
            return


def _reports(folder: Path, nproc: int) -> dict[int, dict[str, dict]]:
    """rank -> {"pid" | "failed" | "done": what it wrote}."""
    said: dict[int, dict[str, dict]] = {r: {} for r in range(nproc)}
    for r in range(nproc):
        for kind in ("pid", "failed", "done"):
            path = folder / f"rank{r}.{kind}"
            if path.exists():
                said[r][kind] = json.loads(path.read_text(encoding="utf-8"))
    return said


def _end_stragglers(folder: Path) -> None:
    """Kills any process that reported a pid and still runs (torchrun starts each in its own
    session, so killing the launcher's group does not reach them)."""
    for path in folder.glob("rank*.pid"):
        pid = json.loads(path.read_text(encoding="utf-8"))["pid"]
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _failure(said: dict[int, dict[str, dict]], folder: Path) -> dict[str, Any]:
    """{"message", "node", "group", "step"}: the first process's own failure; else a process
    that ended without a word; else what the others saw; else the launcher's last line."""
    failed = sorted((s["failed"]["time"], r) for r, s in said.items() if "failed" in s)
    own = [r for _, r in failed if not said[r]["failed"]["peer"]]
    if own:
        return _told(said[own[0]]["failed"])
    silent = [r for r, s in said.items() if "pid" in s and not {"failed", "done"} & set(s)]
    if silent:
        return _nowhere(f"rank {silent[0]}: the process ended without a message (killed by a "
                        "signal, or out of memory)")
    if failed:
        return _told(said[failed[0][1]]["failed"])
    lines = [line for line in (folder / "launcher.log").read_text(
        encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return _nowhere(f"the launcher failed: {lines[-1].strip() if lines else 'no message'}")


def _told(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report.get(k) for k in ("message", "node", "group", "step")}


def _nowhere(message: str) -> dict[str, Any]:
    return {"message": message, "node": None, "group": None, "step": None}
