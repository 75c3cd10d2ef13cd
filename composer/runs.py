"""Runs are files: each run of a graph leaves a folder with the graph exactly as it trained,
its metrics, its final checkpoint and a record (`run.json`) of when, how long, where and how
it ended. Listing, loading and comparing runs is reading these folders, so `composer train`,
`composer runs` and the window share them. Layout and keys: docs/FORMAT.md, "Runs".

A graph's runs live in `<graph's folder>/runs/<graph stem>/<run id>/`; `--out DIR` puts one
in DIR instead. Listing never fails on a folder it cannot read: it skips it and says why.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from composer.errors import ComposerError, GraphFormatError
from composer.fileformat import load, save
from composer.fileformat.atomic_write import write_text_atomic
from composer.graph import Graph

RUNS_DIR = "runs"
GRAPH_FILE = "graph.json"
RECORD_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
SWEEPS_DIR = "sweeps"  # beside the runs: the records of sweeps (composer/sweep_record.py)
RUN_FORMAT = "composer-run"
STATUSES = ("running", "finished", "stopped", "failed")
ID_FORMAT = "%Y-%m-%d_%H-%M-%S"
# Training options that are settings of the file: a run's graph.json holds them as trained.
GRAPH_OPTIONS = ("epochs", "seed", "device", "precision", "compile")


class RunError(ComposerError):
    """A run folder that cannot be read or found; the message names the folder."""


@dataclass
class RunRecord:
    """What `run.json` holds. `final` is {"loss": last training value per loss node, "val":
    last validation loss per loss node, "accuracy": per cross-entropy node}."""

    id: str
    started: str  # ISO 8601 with the local offset
    status: str = "running"  # running, finished, stopped or failed
    label: str = ""
    duration_s: float = 0.0
    steps: int = 0
    seed: int | None = None
    graph_file: str | None = None  # the file the run was started from, when there was one
    graph_name: str = ""
    data_dir: str | None = None  # where the graph's relative data paths start
    options: dict[str, Any] = field(default_factory=dict)  # overrides the run was given
    device: str | None = None  # the device it trained on ("cpu", "cuda:0")
    device_name: str | None = None  # the GPU's name, or the processor's
    processes: int = 1
    versions: dict[str, str] = field(default_factory=dict)  # python, torch, composer
    platform: str = ""
    final: dict[str, dict[str, float]] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # {"message", "node", "group", "step"} when failed

    def to_dict(self) -> dict[str, Any]:
        return {"format": RUN_FORMAT, "version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RunRecord:
        """Raises RunError naming `where` for anything that is not a run record."""
        if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
            raise RunError(f"{where}: not a run record (no \"format\": \"{RUN_FORMAT}\")")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("id", "started", "status"):
            if not isinstance(known.get(key), str):
                raise RunError(f"{where}: {key} missing or not text")
        if known["status"] not in STATUSES:
            raise RunError(f"{where}: unknown status {known['status']!r}")
        for key, types in _FIELD_TYPES.items():
            if key in known and not isinstance(known[key], types) \
                    or key == "final" and not _numbers(known.get("final", {})):
                raise RunError(f"{where}: {key}: not what a run record holds there")
        return cls(**known)

    def metric(self, kind: str, name: str) -> float | None:
        value = self.final.get(kind, {}).get(name)
        return float(value) if isinstance(value, int | float) else None


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "label": (str,), "duration_s": (int, float), "steps": (int,), "seed": (int, type(None)),
    "graph_file": (str, type(None)), "graph_name": (str,), "data_dir": (str, type(None)),
    "options": (dict,), "device": (str, type(None)), "device_name": (str, type(None)),
    "processes": (int,), "versions": (dict,), "platform": (str,), "final": (dict,),
    "error": (dict, type(None))}


def _numbers(final: Any) -> bool:
    """`final` as records hold it: kinds of {name: number}."""
    return isinstance(final, dict) and all(
        isinstance(values, dict) and all(isinstance(v, int | float) for v in values.values())
        for values in final.values())


@dataclass
class Run:
    """A run folder and its record."""

    folder: Path
    record: RunRecord

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def checkpoint(self) -> Path | None:
        path = self.folder / CHECKPOINT_FILE
        return path if path.is_file() else None

    def graph(self) -> Graph:
        """The graph as it trained; its data paths start where the original's did."""
        graph = load(self.folder / GRAPH_FILE)
        if self.record.data_dir:
            graph.base_dir = Path(self.record.data_dir)
        return graph

    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl's records; a damaged line (a run killed mid-write) ends the list."""
        return read_metrics(self.folder / METRICS_FILE)


# --- where runs go -------------------------------------------------------------------------
def graph_stem(path: str | Path) -> str:
    """`gan.graph.json` -> `gan`."""
    name = Path(path).name
    return name.removesuffix(".json").removesuffix(".graph") or "run"


def runs_root(graph_file: str | Path) -> Path:
    """The folder holding a graph file's runs: `<its folder>/runs/<its stem>`."""
    path = Path(graph_file).resolve()
    return path.parent / RUNS_DIR / graph_stem(path)


def new_run_folder(root: str | Path, now: datetime | None = None) -> Path:
    """Creates `<root>/<id>`: the start time, sortable and readable (`2026-12-02_14-03-11`),
    with `-2`, `-3`, ... when two runs start within a second."""
    root = Path(root)
    stem = (now or datetime.now()).strftime(ID_FORMAT)
    for n in range(1, 10_000):
        folder = root / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError as e:
            raise RunError(f"cannot write the run folder {str(folder)!r}: "
                           f"{e.strerror or e} (--out DIR puts it elsewhere)") from e
        return folder
    raise RunError(f"{root}: no free run id for {stem}")


def data_dir_of(graph_file: str | Path) -> Path | None:
    """Where a run folder's graph.json had its data: its record's data_dir (so training that
    file again finds the same data); None for a graph file outside a run folder."""
    path = Path(graph_file)
    if path.name != GRAPH_FILE or not (path.parent / RECORD_FILE).is_file():
        return None
    try:
        record = read_record(path.parent)
    except RunError:
        return None
    return Path(record.data_dir) if record.data_dir else None


# --- reading -------------------------------------------------------------------------------
def read_record(folder: str | Path) -> RunRecord:
    """Raises RunError: `<folder>: run.json: <what is wrong>`."""
    path = Path(folder) / RECORD_FILE
    where = f"{folder}: {RECORD_FILE}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RunError(f"{folder}: no {RECORD_FILE} (not a run folder)") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{where}: cannot read: {getattr(e, 'strerror', None) or e}") from e
    except json.JSONDecodeError as e:
        raise RunError(f"{where}: not valid JSON (line {e.lineno})") from e
    return RunRecord.from_dict(data, where)


def load_run(folder: str | Path) -> Run:
    """A run folder with its record. Raises RunError naming what is missing or damaged."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: not a folder")
    record = read_record(folder)
    if not (folder / GRAPH_FILE).is_file():
        raise RunError(f"{folder}: no {GRAPH_FILE}")
    return Run(folder, record)


def list_runs(root: str | Path) -> tuple[list[Run], list[tuple[Path, str]]]:
    """The runs in `root`, newest first, and the folders skipped there with the reason (a
    damaged record, a foreign folder). A missing root has no runs."""
    root = Path(root)
    runs: list[Run] = []
    skipped: list[tuple[Path, str]] = []
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir() and p.name != SWEEPS_DIR)
    except OSError:
        return runs, skipped
    for folder in entries:
        try:
            runs.append(load_run(folder))
        except RunError as e:
            skipped.append((folder, str(e).removeprefix(f"{folder}: ")))
    runs.sort(key=lambda r: (r.record.started, r.id), reverse=True)
    return runs, skipped


def find_run(root: str | Path, key: str) -> Run:
    """A run by its id among `root`'s, or by its folder's path."""
    folder = Path(root) / key
    if not folder.is_dir() and Path(key).is_dir():
        folder = Path(key)
    if not folder.is_dir():
        known = [r.id for r in list_runs(root)[0]]
        hint = f"; runs there: {', '.join(known[:5])}" if known else "; there are none"
        raise RunError(f"no run {key!r} in {root}{hint}")
    return load_run(folder)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    break
                if isinstance(record, dict):
                    records.append(record)
    except OSError:
        pass
    return records


def final_metrics(records: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], int]:
    """({"loss", "val", "accuracy"}, steps done) from metrics records: each loss node's last
    training value, and the last validation."""
    loss: dict[str, float] = {}
    val: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    steps = 0
    for record in records:
        if isinstance(record.get("loss"), dict) and isinstance(record.get("step"), int):
            loss.update(record["loss"])
            steps = max(steps, record["step"] + 1)
        if isinstance(record.get("val"), dict):
            val, accuracy = dict(record["val"]), dict(record.get("accuracy") or {})
    return {"loss": loss, "val": val, "accuracy": accuracy}, steps


# --- writing -------------------------------------------------------------------------------
def trained_graph(graph: Graph, options: dict[str, Any]) -> Graph:
    """A copy of `graph` with the run's overrides of file settings (epochs, seed, device,
    precision, compile) written into its training settings. A value the file would refuse is
    left out here (the run fails on it, and the record's options keep it)."""
    from composer.fileformat import validate

    copy = graph.copy()
    given = {k: options[k] for k in GRAPH_OPTIONS if options.get(k) is not None}
    try:
        fields = validate.training_fields(given)
    except GraphFormatError:
        fields = {}
    for key, value in fields.items():
        setattr(copy.training, key, value)
    return copy


class RunRecorder:
    """Writes one run's folder: graph.json and a `running` record at the start, the final
    record (status, duration, steps, final metrics, device) at the end."""

    def __init__(self, folder: str | Path, graph: Graph, *, label: str = "",
                 options: dict[str, Any] | None = None, processes: int = 1,
                 graph_file: str | Path | None = None) -> None:
        self.folder = Path(folder)
        self.options = {k: _plain(v) for k, v in (options or {}).items() if v is not None}
        trained = trained_graph(graph, self.options)
        if graph_file is not None and Path(graph_file).resolve() == \
                (self.folder / GRAPH_FILE).resolve():
            graph_file = None  # a copy of an unsaved graph, written here to be trained
        self._started = time.monotonic()
        self.record = RunRecord(
            id=self.folder.name, started=datetime.now().astimezone().isoformat("T", "seconds"),
            label=label, seed=trained.training.seed,
            graph_file=str(Path(graph_file).resolve()) if graph_file else None,
            graph_name=graph.name, data_dir=str(Path(graph.base_dir).resolve()),
            options=self.options, processes=processes, versions=versions(),
            platform=platform.platform(terse=True))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save(trained, self.folder / GRAPH_FILE)
            self.write()
        except OSError as e:
            raise RunError(f"cannot write the run folder {str(self.folder)!r}: "
                           f"{e.strerror or e}") from e

    def write(self) -> None:
        write_text_atomic(self.folder / RECORD_FILE,
                          json.dumps(self.record.to_dict(), indent=2) + "\n")

    def finish(self, status: str, *, metrics_from: str | Path | None = None,
               device: str | None = None, error: BaseException | None = None) -> RunRecord:
        """The run ended: `metrics_from` (a metrics file written elsewhere) is copied in,
        the final metrics read from the folder's metrics.jsonl."""
        metrics = self.folder / METRICS_FILE
        if metrics_from is not None and Path(metrics_from).is_file() \
                and Path(metrics_from).resolve() != metrics.resolve():
            shutil.copyfile(metrics_from, metrics)
        r = self.record
        r.final, r.steps = final_metrics(read_metrics(metrics))
        r.status, r.duration_s = status, round(time.monotonic() - self._started, 3)
        r.device = device or r.device or self._requested_device()
        r.device_name = r.device_name or device_name(r.device)
        if error is not None:
            r.error = {"message": str(error) or type(error).__name__,
                       "node": getattr(error, "node", None),
                       "group": getattr(error, "group", None),
                       "step": getattr(error, "step", None)}
        self.write()
        return r

    def _requested_device(self) -> str | None:
        """The device a run that left no model asked for, resolved as training resolves it."""
        graph_device = load(self.folder / GRAPH_FILE).training.device
        try:
            from composer.runtime.loop import pick_device

            return str(pick_device(graph_device))
        except Exception:  # noqa: BLE001 - an unavailable device is what the run failed on
            return graph_device


def close_record(folder: str | Path, status: str, message: str) -> RunRecord | None:
    """Ends the record of a run whose process ended without writing it (killed, crashed):
    `status` and `message`, the steps and final metrics its metrics file holds. A record
    that has ended already is left as it is (None)."""
    try:
        record = read_record(folder)
    except RunError:
        return None
    if record.status != "running":
        return None
    record.final, record.steps = final_metrics(read_metrics(Path(folder) / METRICS_FILE))
    record.status, record.error = status, {"message": message, "node": None, "group": None,
                                           "step": None}
    try:
        started = datetime.fromisoformat(record.started)
        record.duration_s = round((datetime.now().astimezone() - started).total_seconds(), 3)
    except ValueError:
        pass
    write_text_atomic(Path(folder) / RECORD_FILE, json.dumps(record.to_dict(), indent=2) + "\n")
    return record


def train_run(graph: Graph, folder: str | Path, *, label: str = "",
              graph_file: str | Path | None = None, metrics_out: str | Path | None = None,
              callback: Any = None, **options: Any) -> Any:
    """`composer.train` into a run folder: checkpoints, metrics and the record go there.
    Returns its RunResult; a failure is recorded (status `failed`, the error) and raised."""
    from composer.train import train

    recorder = RunRecorder(folder, graph, label=label, options=options, graph_file=graph_file)
    metrics = Path(metrics_out) if metrics_out is not None else recorder.folder / METRICS_FILE
    try:
        result = train(graph, out_dir=recorder.folder, metrics_out=metrics, callback=callback,
                       **options)
    except BaseException as e:
        recorder.finish("failed", metrics_from=metrics, error=e)
        raise
    recorder.finish(result.status, metrics_from=metrics, device=model_device(result.model))
    return result


def model_device(model: Any) -> str | None:
    parameter = next(iter(model.parameters()), None) if model is not None else None
    return str(parameter.device) if parameter is not None else None


def device_name(device: str | None) -> str | None:
    """The GPU's name for a CUDA device; the processor's otherwise (may be empty)."""
    if device and device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = int(device.split(":")[1]) if ":" in device else 0
            return torch.cuda.get_device_name(index)
    return platform.processor() or platform.machine() or None


def versions() -> dict[str, str]:
    from importlib import metadata

    import torch

    try:
        composer_version = metadata.version("model-composer")
    except metadata.PackageNotFoundError:
        composer_version = "unknown"
    return {"python": platform.python_version(), "torch": torch.__version__,
            "composer": composer_version}


def _plain(value: Any) -> Any:
    """Options as JSON holds them (a resumed checkpoint's Path as text)."""
    return str(value) if isinstance(value, Path) else value
