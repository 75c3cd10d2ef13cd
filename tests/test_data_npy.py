"""data.tensors reads .npy files memory-mapped (nothing is read until a batch needs it), and
with y_key null it has only the x port: an autoencoder or a GAN needs no dummy labels."""

from __future__ import annotations

import math
import resource

import numpy as np
import pytest

import composer
from composer import fileformat
from composer.analysis import shapes
from composer.analysis.checks import check
from composer.analysis.wiring import connection_problem
from composer.catalogue import get
from composer.catalogue.datafiles import count_tensor_rows, peek_tensor_file
from composer.graph import Edge, Graph, Group, Node, Training
from composer.runtime.arrays import load_arrays
from composer.runtime.data import LazyRows, tensor_arrays
from composer.runtime.errors import DataSourceError


def npy_folder(folder, rows: int = 40, y_rows: int | None = None, name: str = "arrays"):
    """x.npy (float32 [rows,6]) and y.npy (int64 class ids) in a folder; returns its name."""
    (folder / name).mkdir()
    x = np.random.default_rng(0).normal(size=(rows, 6)).astype(np.float32)
    np.save(folder / name / "x.npy", x)
    np.save(folder / name / "y.npy", np.arange(y_rows or rows, dtype=np.int64) % 4)
    return name


def classifier(folder, params: dict) -> Graph:
    g = Graph("npy")
    g.nodes = {"t": Node("t", "data.tensors", {"batch_size": 8} | params),
               "fc": Node("fc", "layer.linear", {"out_features": 4}),
               "ce": Node("ce", "loss.cross_entropy", {})}
    g.edges = [Edge("t", "x", "fc", "in"), Edge("fc", "out", "ce", "pred"),
               Edge("t", "y", "ce", "target")]
    g.groups = [Group("g", ["fc"], ["ce"])]
    g.training = Training(epochs=1, seed=0, device="cpu")
    g.base_dir = folder
    return g


def autoencoder(folder, path: str) -> Graph:
    """x -> linear(3) -> linear(6) -> MSE against x itself: no labels anywhere."""
    g = Graph("autoencoder")
    g.nodes = {"t": Node("t", "data.tensors", {"path": path, "y_key": None, "batch_size": 8}),
               "enc": Node("enc", "layer.linear", {"out_features": 3}),
               "dec": Node("dec", "layer.linear", {"out_features": 6}),
               "rec": Node("rec", "loss.mse", {})}
    g.edges = [Edge("t", "x", "enc", "in"), Edge("enc", "out", "dec", "in"),
               Edge("dec", "out", "rec", "pred"), Edge("t", "x", "rec", "target")]
    g.groups = [Group("g", ["enc", "dec"], ["rec"])]
    g.training = Training(epochs=1, seed=0, device="cpu")
    g.base_dir = folder
    return g


# --- .npy, memory-mapped ----------------------------------------------------------------------

def test_a_folder_of_npy_files_is_memory_mapped(tmp_path):
    folder = tmp_path / npy_folder(tmp_path)
    x, y = load_arrays(folder, "x", "y")
    assert isinstance(x, np.memmap) and isinstance(y, np.memmap)
    np.testing.assert_array_equal(x, np.load(folder / "x.npy"))
    arrays = tensor_arrays("t", folder, "x", "y")  # still mapped: read a batch at a time
    assert all(isinstance(arrays[k], LazyRows) and isinstance(arrays[k].array, np.memmap)
               for k in ("x", "y"))


def test_npz_arrays_are_still_converted_in_memory(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((5, 2)), y=np.arange(5, dtype=np.int32))
    arrays = tensor_arrays("t", tmp_path / "d.npz", "x", "y")
    assert arrays["x"].dtype == np.float32 and arrays["y"].dtype == np.int64
    assert not isinstance(arrays["x"], np.memmap)


def test_peeking_at_npy_reads_the_header_of_x_not_its_data(tmp_path):
    """x is 2 GB on disk (sparse: never written); peeking must not bring it into memory."""
    (tmp_path / "big").mkdir()
    rows = 500_000
    x = np.lib.format.open_memmap(tmp_path / "big" / "x.npy", "w+", np.float32, (rows, 1000))
    del x
    np.save(tmp_path / "big" / "y.npy", np.arange(rows, dtype=np.int64) % 7)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = peek_tensor_file(tmp_path / "big", "x", "y")
    assert count_tensor_rows(tmp_path / "big", "x", "y") == rows
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert found["x"].shape == (1000,) and found["y"].classes == 7
    assert grown_kb < 200_000, f"peeking grew the process by {grown_kb} kB"


def test_a_npy_pair_of_different_lengths_is_refused_naming_both_files(tmp_path):
    folder = tmp_path / npy_folder(tmp_path, rows=40, y_rows=39)
    with pytest.raises(DataSourceError) as caught:
        tensor_arrays("t", folder, "x", "y")
    assert str(caught.value) == (f"t: '{folder / 'x.npy'}' has 40 rows but '{folder / 'y.npy'}'"
                                 " has 39; they need one row per sample each")
    g = classifier(tmp_path, {"path": "arrays"})
    (d,) = [d for d in check(g) if d.severity == "error"]
    assert (d.node, d.param) == ("t", "path") and "has 40 rows but" in d.message


def test_a_missing_npy_file_names_the_files_the_folder_has(tmp_path):
    folder = tmp_path / npy_folder(tmp_path)
    with pytest.raises(DataSourceError, match=r"has no labels\.npy; it has: x\.npy, y\.npy"):
        tensor_arrays("t", folder, "x", "labels")


def test_one_npy_file_holds_x_only(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 3), np.float32))
    x, y = load_arrays(tmp_path / "x.npy", "x", None)
    assert isinstance(x, np.memmap) and y is None
    with pytest.raises(DataSourceError, match="one .npy file, which holds one array: set y_key "
                                              "to null"):
        load_arrays(tmp_path / "x.npy", "x", "y")


def test_a_npy_folder_trains_as_the_npz_it_was_saved_from(tmp_path):
    folder = tmp_path / npy_folder(tmp_path)
    np.savez(tmp_path / "d.npz", x=np.load(folder / "x.npy"), y=np.load(folder / "y.npy"))
    from_npy = composer.train(classifier(tmp_path, {"path": "arrays"}), steps=6)
    from_npz = composer.train(classifier(tmp_path, {"path": "d.npz"}), steps=6)
    losses = [[r["loss"] for r in run.history if "loss" in r] for run in (from_npy, from_npz)]
    assert losses[0] == losses[1] and len(losses[0]) == 6


# --- y_key null -------------------------------------------------------------------------------

def test_without_y_key_a_tensors_node_has_only_x(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 6), np.float32))
    t = get("data.tensors")
    assert [p.name for p in t.output_ports(t.resolve({"y_key": None}))] == ["x"]
    assert [p.name for p in t.output_ports(t.resolve({}))] == ["x", "y"]
    g = autoencoder(tmp_path, "d.npz")
    found = shapes.infer(g)
    assert found.problems == [] and {port for _, port in found.outputs if _ == "t"} == {"x"}
    problem = connection_problem(g, "t", "y", "rec", "target")
    assert problem == ("data.tensors t has no output y while y_key is null: set y_key to give "
                       "it one")


def test_a_wire_from_y_while_y_key_is_null_is_an_error_that_says_how_to_fix_it(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 6), np.float32))
    g = autoencoder(tmp_path, "d.npz")
    g.edges[-1] = Edge("t", "y", "rec", "target")
    (d,) = [d for d in check(g) if d.severity == "error"]
    assert d.node == "t" and "has no output port y (its outputs: x)" in d.message
    assert d.message.endswith("remove that wire or set y_key")
    fileformat.save(g, tmp_path / "g.graph.json")
    with pytest.raises(composer.GraphFormatError, match=r"has no output port \"y\""):
        composer.load(tmp_path / "g.graph.json")


def test_without_y_key_an_autoencoder_trains_on_a_single_npy_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 2)) @ rng.normal(size=(2, 6))  # 6 numbers, 2 degrees of freedom
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    g = autoencoder(tmp_path, "x.npy")
    g.groups[0].optimizer = {"type": "adam", "lr": 0.02}
    assert [d for d in check(g) if d.severity in ("error", "warning")] == []
    fileformat.save(g, tmp_path / "g.graph.json")
    reloaded = composer.load(tmp_path / "g.graph.json")
    assert reloaded.nodes["t"].params["y_key"] is None
    untrained = composer.train(reloaded, steps=1).val["rec"]
    run = composer.train(reloaded, steps=60)
    losses = [r["loss"]["rec"] for r in run.history if "loss" in r]
    assert len(losses) == 60 and all(math.isfinite(v) for v in losses)
    assert run.val["rec"] < 0.2 * untrained


def test_clearing_y_key_in_the_inspector_takes_away_the_y_port_and_its_wire(qtbot, tmp_path):
    from gui_helpers import open_window
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    np.savez(tmp_path / "d.npz", x=np.zeros((20, 6), np.float32), y=np.arange(20) % 4)
    w = open_window(qtbot, tmp_path, classifier(tmp_path, {"path": "d.npz"}))
    assert set(w.scene.node_item("t").outputs) == {"x", "y"}
    w.scene.select_nodes(["t"])
    field = w.inspector.editors["y_key"].field
    field.setFocus()
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Backspace)
    graph = w.document.graph
    assert graph.nodes["t"].params["y_key"] is None
    assert set(w.scene.node_item("t").outputs) == {"x"}
    assert Edge("t", "y", "ce", "target") not in graph.edges
    w.document.undo_stack.undo()  # one step: the wire comes back with the port
    assert set(w.scene.node_item("t").outputs) == {"x", "y"}
    assert Edge("t", "y", "ce", "target") in w.document.graph.edges
