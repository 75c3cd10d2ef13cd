"""Every benchmark script still loads (its imports resolve) when the code it measures moves;
the measurements themselves run by hand (they print figures, they assert no timings)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_script_loads(script):
    names = runpy.run_path(str(script), run_name="loaded_by_test")
    assert callable(names.get("main")), f"{script.name} has no main()"
