"""Data problems are told in one clear line that names the data node (or the loss that reads
it), by `check`, by `composer train` (exit 1, no traceback) and by the training runtime that an
exported script runs; problems that need not stop a run are warnings, and the run goes on."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import composer
from composer import cli, fileformat
from composer.analysis.checks import check
from composer.errors import CompileError
from composer.generate.compile import graph_program
from composer.graph import Edge, Graph, Group, Node, Training
from composer.runtime import data
from composer.runtime.errors import DataSourceError
from composer.runtime.images import ImageFolder


def classifier_on(folder, data_type: str, params: dict, classes: int = 5) -> Graph:
    """data node t -> flatten -> linear(classes) -> cross-entropy ce, in one group."""
    g = Graph("data problems")
    g.nodes = {"t": Node("t", data_type, params), "f": Node("f", "layer.flatten", {}),
               "fc": Node("fc", "layer.linear", {"out_features": classes}),
               "ce": Node("ce", "loss.cross_entropy", {})}
    g.edges = [Edge("t", "x", "f", "in"), Edge("f", "out", "fc", "in"),
               Edge("fc", "out", "ce", "pred"), Edge("t", "y", "ce", "target")]
    g.groups = [Group("g", ["fc"], ["ce"])]
    g.training = Training(epochs=1, seed=0, device="cpu")
    g.base_dir = folder
    return g


def arrays(folder, name="d.npz", rows=50, classes=5, **extra) -> str:
    x = np.random.default_rng(0).normal(size=(rows, 6)).astype(np.float32)
    np.savez(folder / name, **({"x": x, "y": np.arange(rows) % classes} | extra))
    return name


def image_folder(folder, broken: int = 0, per_class: int = 6) -> str:
    for label in ("cat", "dog"):
        (folder / "imgs" / label).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (8, 8), 20 * i).save(folder / "imgs" / label / f"{i}.png")
    for i in range(broken):
        (folder / "imgs" / "cat" / f"broken{i}.png").write_bytes(b"not an image")
    return "imgs"


def only(found, severity: str):
    (d,) = [d for d in found if d.severity == severity]
    return d


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """What Python does with a warning outside pytest, which records them instead."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def train_on_command_line(g: Graph, folder, capsys, *extra: str) -> tuple[int, list[str]]:
    """`composer train FILE --steps 2`: the exit status and the lines on stderr."""
    fileformat.save(g, folder / "g.graph.json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _print_warning
        code = cli.main(["train", str(folder / "g.graph.json"), "--steps", "2",
                         "--out", str(folder / "run"), *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line for line in err.splitlines() if line.strip()]


def test_a_missing_data_file_is_named_by_check_and_stops_train_in_one_line(tmp_path, capsys):
    g = classifier_on(tmp_path, "data.tensors", {"path": "absent.npz"})
    d = only(check(g), "error")
    assert (d.node, d.param) == ("t", "path")
    assert "absent.npz" in d.message and "does not exist" in d.message
    code, lines = train_on_command_line(g, tmp_path, capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("error: t") and "absent.npz' does not exist" in lines[0]


def test_a_missing_image_folder_is_named_by_check_and_stops_train(tmp_path, capsys):
    g = classifier_on(tmp_path, "data.image_folder", {"path": "nowhere", "size": 8})
    d = only(check(g), "error")
    assert d.node == "t" and "image folder" in d.message and "nowhere' does not exist" in d.message
    code, lines = train_on_command_line(g, tmp_path, capsys)
    assert code == 1 and len(lines) == 1 and "nowhere' does not exist" in lines[0]


def test_an_npz_without_the_named_arrays_says_which_arrays_it_has(tmp_path, capsys):
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path), "x_key": "inputs"})
    d = only(check(g), "error")
    assert d.node == "t" and "has no array 'inputs'; it has: x, y" in d.message
    code, lines = train_on_command_line(g, tmp_path, capsys)
    assert code == 1 and len(lines) == 1 and "has no array 'inputs'" in lines[0]


@pytest.mark.parametrize(("values", "message"), [
    (np.array(["a"] * 50), "'x' holds text values; expected numbers"),
    (np.float32(3.0), "'x' is a single value; expected an array with one row per sample"),
])
def test_arrays_that_are_not_numbers_per_sample_are_refused_clearly(tmp_path, values, message):
    np.savez(tmp_path / "d.npz", x=values, y=np.arange(50) % 5)
    g = classifier_on(tmp_path, "data.tensors", {"path": "d.npz"})
    d = only(check(g), "error")
    assert d.node == "t" and message in d.message


def test_a_tensor_file_holding_python_objects_is_refused_without_running_them(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never print",))

    torch.save({"x": torch.zeros(4, 2), "y": Payload()}, tmp_path / "d.pt")
    with pytest.raises(DataSourceError, match="holds Python objects besides tensors; they are "
                                              "not loaded, as that could run code"):
        data.load_arrays(tmp_path / "d.pt", "x", "y")


def test_a_checkpoint_holding_python_objects_is_refused_in_one_line(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never print",))

    torch.save({"format": "composer-checkpoint", "model": Payload()}, tmp_path / "evil.pt")
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path), "batch_size": 8})
    code, lines = train_on_command_line(g, tmp_path, capsys, "--resume",
                                        str(tmp_path / "evil.pt"))
    assert code == 1 and len(lines) == 1
    assert "evil.pt' holds Python objects besides weights" in lines[0]


def test_labels_beyond_the_logits_are_an_error_on_the_loss_before_training(tmp_path, capsys):
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path, classes=10),
                                                 "batch_size": 8}, classes=5)
    d = only(check(g), "error")
    assert d.node == "ce" and "target has 10 classes but pred is [B,5], 5 logits" in d.message
    with pytest.raises(CompileError, match="target has 10 classes"):
        composer.train(g, steps=1)
    code, lines = train_on_command_line(g, tmp_path, capsys)
    assert code == 1 and len(lines) == 1 and "ce" in lines[0] and "10 classes" in lines[0]


def test_labels_beyond_the_logits_at_run_time_stop_the_run_naming_the_loss(tmp_path, capsys):
    # The file changed after export: the exported program itself names the loss and the step.
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path, classes=5),
                                                 "batch_size": 8})
    program = graph_program(g)
    arrays(tmp_path, classes=10)
    code = program.command_line(program.PROGRAM, ["--steps", "3", "--data-dir", str(tmp_path),
                                                  "--out", str(tmp_path / "run")])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("error: node ce failed at step 0 (group g): ")
    assert "out of bounds" in lines[0]


def test_negative_class_ids_are_an_error_on_the_data_node(tmp_path):
    name = arrays(tmp_path, y=np.arange(50) % 5 - 1)
    d = only(check(classifier_on(tmp_path, "data.tensors", {"path": name})), "error")
    assert d.node == "t" and "y holds class ids from -1" in d.message and "count from 0" in \
        d.message


def test_an_image_that_cannot_be_decoded_is_a_warning_of_check_and_stops_the_run_naming_it(
        tmp_path, capsys):
    g = classifier_on(tmp_path, "data.image_folder",
                      {"path": image_folder(tmp_path, broken=1), "size": 8, "grayscale": True,
                       "batch_size": 4, "workers": 0}, classes=2)
    d = only(check(g), "warning")
    assert (d.node, d.param) == ("t", "path")
    assert "1 file(s) cannot be read as images: cat/broken0.png; training stops" in d.message
    with pytest.raises(composer.DataError, match=r"^t: cannot read 'cat/broken0\.png' as an "
                                                 r"image \(not a format Pillow knows\)$"):
        composer.train(g, epochs=1)
    code, lines = train_on_command_line(g, tmp_path, capsys, "--epochs", "1")
    assert code == 1 and lines[-1] == ("error: t: cannot read 'cat/broken0.png' as an image "
                                       "(not a format Pillow knows)")


def test_a_folder_without_images_is_an_error_saying_so(tmp_path):
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("no image here")
    with pytest.raises(DataSourceError, match="image folder '.*imgs' holds no images"):
        ImageFolder("t", tmp_path / "imgs", 8, True)


def test_a_batch_larger_than_the_training_split_is_a_warning_and_uses_the_whole_split(
        tmp_path, capsys):
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path), "batch_size": 64})
    d = only(check(g), "warning")
    assert (d.node, d.param) == ("t", "batch_size")
    assert d.message.startswith("batch_size 64 is more than the 40 samples of the training "
                                "split (50 in all): every batch will be the whole split")
    with pytest.warns(UserWarning, match="t: batch_size 64 is more than the 40 samples"):
        composer.train(g, steps=2)
    program = graph_program(g)
    with pytest.warns(UserWarning):
        source = program.make_data(0, tmp_path)["t"]
    assert source.draw(0)["t.x"].shape == (40, 6)  # the whole split, every time
    code, lines = train_on_command_line(g, tmp_path, capsys)
    assert code == 0 and any(line.startswith("warning: t: batch_size 64 is more than the 40")
                             for line in lines)


def test_a_split_that_leaves_no_training_samples_is_an_error(tmp_path):
    name = arrays(tmp_path, rows=0)
    d = next(d for d in check(classifier_on(tmp_path, "data.tensors", {"path": name}))
             if d.is_error)
    assert d.node == "t" and "the training split of 0 samples is empty" in d.message


@pytest.mark.parametrize("option", ["--out", "--metrics-out"])
def test_an_output_that_cannot_be_written_stops_train_in_one_line_before_it_starts(
        tmp_path, capsys, option):
    (tmp_path / "a_file").write_text("")
    g = classifier_on(tmp_path, "data.tensors", {"path": arrays(tmp_path), "batch_size": 8})
    fileformat.save(g, tmp_path / "g.graph.json")
    code = cli.main(["train", str(tmp_path / "g.graph.json"), "--steps", "2",
                     option, str(tmp_path / "a_file" / "inside")])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in lines[0]
    assert lines[0].startswith("error: cannot write ") and "a_file/inside" in lines[0]
