"""The core never imports Qt: `composer` works in a notebook, a script or a headless server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, sys
import composer, composer.cli
import composer.analysis.checks, composer.analysis.wiring, composer.analysis.shapes
from composer.graph import Graph, Node
g = Graph()
g.nodes["z"] = Node("z", "data.noise")
g.nodes["r"] = Node("r", "layer.relu")
composer.check(g)
gui = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "gui")]
print(json.dumps(gui))
"""


def test_importing_and_checking_loads_no_qt_or_gui_module():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_importing_composer_loads_neither_torch_nor_networkx():
    """Both load on the first check, so the application's window appears quickly."""
    script = "import sys, composer; print(sorted({'torch', 'networkx'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
