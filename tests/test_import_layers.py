"""The core's folders are floors: each module imports only from its own floor or those below,
so a newcomer can read composer/ from the bottom up (see the README's layout)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "composer"
# Top floor first.
FLOORS = ["entry", "generate", "analysis", "fileformat", "graph", "catalogue", "runtime", "base"]
PLACES = {
    "cli": "entry", "train": "entry", "progress": "entry", "__main__": "entry",
    "__init__": "entry", "weights": "entry", "export_onnx": "entry", "state_dicts": "entry",
    "launch": "entry", "runs": "entry", "run_compare": "entry", "graph_diff": "entry",
    "confusion": "entry", "sweep": "entry", "sweep_record": "entry", "sweep_runner": "entry",
    "cli_sweep": "entry",
    "generate": "generate", "analysis": "analysis",
    "fileformat": "fileformat", "graph": "graph", "networks": "graph", "schedules": "graph",
    "optim": "graph", "previews": "graph",
    "catalogue": "catalogue", "runtime": "runtime", "errors": "base", "events": "base",
    "params": "base", "names": "base",
}


def _floor(module: str) -> str:
    parts = module.split(".")
    return "entry" if len(parts) == 1 else PLACES[parts[1]]


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("composer"):
            found += ([node.module] if node.module != "composer"
                      else [f"composer.{a.name}" for a in node.names])
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("composer")]
    return found


def test_every_import_points_down_or_sideways():
    upward = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE).with_suffix("").parts
        module = ".".join(("composer", *parts)).removesuffix(".__init__")
        here = FLOORS.index(_floor(module))
        upward += [f"{module} -> {target}" for target in _imports(path)
                   if FLOORS.index(_floor(target)) < here]
    assert upward == []


def test_every_core_module_has_a_floor():
    for path in CORE.iterdir():
        assert path.name.startswith("_") or path.stem in PLACES or path.name == "py.typed", path
