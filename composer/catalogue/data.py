"""Data sources. They are the graph's inputs: the model's forward receives their batches."""

from __future__ import annotations

from pathlib import Path

from composer.catalogue.base import DataOutput, NodeType, Port, Source, call, literal
from composer.errors import DataError
from composer.params import Augment, Bool, Choice, Int, Normalize, Split, Text

DIGITS = 1797  # samples in scikit-learn's digits

COMMON = (
    Int("batch_size", 64, "samples per batch", min=1, max=65536),
    Split("split", [0.8, 0.1, 0.1], "train, validation and test ratios, fixed by the seed"),
    Bool("shuffle", True, "reshuffle the training split every epoch"),
    Augment("augment", [], "augmentation of the training split, in order"),
)
_LABEL = Port("y", "label", doc="class ids [B]")


# --- what the generated program builds for each data node ------------------------------------

def _batches(node_id: str, p, arrays: str, source: str = "Batches", **extra) -> str:
    """A split, shuffled, augmented batch source over the arrays `arrays` builds."""
    steps = [call("partial", Source(s["op"]), **{k: v for k, v in s.items() if k != "op"})
             for s in p["augment"]]
    return call(source, node_id, Source("seed"), Source(arrays), batch_size=p["batch_size"],
                split=p["split"], shuffle=p["shuffle"], augment=Source(f"[{', '.join(steps)}]"),
                **extra)


def _streamed(node_id: str, p) -> str:
    """An image folder's batch source: files listed at the start, decoded per batch."""
    folder = call("ImageFolder", node_id, _in_data_dir(p), size=p["size"],
                  grayscale=p["grayscale"], crop=p["crop"], normalize=p["normalize"])
    return _batches(node_id, p, folder, "StreamedBatches", workers=p["workers"])


def _in_data_dir(p) -> Source:
    return Source(f"data_dir / {literal(p['path'])}")


def _tensor_rows(p, base_dir: Path, headers: bool = True) -> tuple[int | None, list[str]]:
    from composer.catalogue.datafiles import count_tensor_rows

    return count_tensor_rows(base_dir / p["path"], p["x_key"], p["y_key"]), []


def _image_files(p, base_dir: Path, headers: bool = True) -> tuple[int | None, list[str]]:
    from composer.catalogue.datafiles import count_images

    return count_images(base_dir / p["path"], headers)


# --- shapes of what each data node yields ------------------------------------------------------

def _digits(p, base_dir: Path) -> dict[str, DataOutput]:
    return {"x": DataOutput((1, 8, 8)), "y": DataOutput((), "int64", classes=10)}


def _shapes(p, base_dir: Path) -> dict[str, DataOutput]:
    s = p["size"]
    return {"x": DataOutput((1, s, s)), "y": DataOutput((), "int64", classes=3),
            "box": DataOutput((4,))}


def _noise(p, base_dir: Path) -> dict[str, DataOutput]:
    return {"z": DataOutput((p["dim"],))}


def _tensors(p, base_dir: Path) -> dict[str, DataOutput]:
    from composer.catalogue.datafiles import peek_tensor_file

    return peek_tensor_file(base_dir / p["path"], p["x_key"], p["y_key"])


def _image_folder(p, base_dir: Path) -> dict[str, DataOutput]:
    from composer.catalogue.datafiles import peek_image_folder

    channels = 1 if p["grayscale"] else 3
    if p["normalize"] is not None and len(p["normalize"]["mean"]) != channels:
        raise DataError(None, f"normalize has {len(p['normalize']['mean'])} value(s) per list "
                              f"but the images have {channels} channel(s) (grayscale is "
                              f"{str(p['grayscale']).lower()})", "normalize")
    classes = peek_image_folder(base_dir / p["path"])
    return {"x": DataOutput((channels, p["size"], p["size"])),
            "y": DataOutput((), "int64", classes=classes)}


TYPES = [
    NodeType(
        "data.digits", "data",
        "The 8x8 handwritten digits scikit-learn ships: 1,797 images, 10 classes.",
        outputs=(Port("x", "map", doc="images [B,1,8,8] in [0,1]"), _LABEL),
        params=COMMON, data=_digits, key_params=("batch_size",),
        emit_data=lambda n, p: _batches(n, p, call("digits_arrays", n)),
        samples=lambda p, base_dir: (DIGITS, []),
    ),
    NodeType(
        "data.shapes", "data",
        "Generated images of one circle, square or triangle each, with its class and box.",
        outputs=(Port("x", "map", doc="images [B,1,S,S]"), _LABEL,
                 Port("box", "boxes", doc="x0,y0,x1,y1 in [0,1]")),
        params=(Int("size", 32, "image height and width", min=8, max=256),
                Int("count", 2000, "images generated (fixed by the seed)", min=10,
                    max=1_000_000)) + COMMON,
        data=_shapes, key_params=("size", "batch_size"),
        emit_data=lambda n, p: _batches(n, p, call("shapes_arrays", n, Source("seed"),
                                                   size=p["size"], count=p["count"])),
        samples=lambda p, base_dir: (p["count"], []),
    ),
    NodeType(
        "data.noise", "data", "Standard normal noise vectors, a fresh batch every step.",
        outputs=(Port("z", "vector", doc="noise [B,dim]"),),
        params=(Int("dim", 16, "length of each vector", min=1, max=65536),
                Int("batch_size", 64, "samples per batch", min=1, max=65536)),
        data=_noise, key_params=("dim", "batch_size"),
        emit_data=lambda n, p: call("Noise", n, Source("seed"), dim=p["dim"],
                                    batch_size=p["batch_size"]),
    ),
    NodeType(
        "data.tensors", "data",
        "Arrays from a .npz or .pt file, or .npy files (memory-mapped): inputs x, labels y.",
        outputs=(Port("x", "tensor"), Port("y", "tensor", doc="labels or targets", needs="y_key")),
        params=(Text("path", "data.npz", "a .npz, .pt or .npy file, or a folder of .npy files "
                     "named after the keys; relative to the graph file"),
                Text("x_key", "x", "name of the input array"),
                Text("y_key", "y", "name of the label array; empty (null): no labels, no y "
                     "port", optional=True)) + COMMON,
        data=_tensors, key_params=("path",),
        emit_data=lambda n, p: _batches(n, p, call("tensor_arrays", n, _in_data_dir(p),
                                                   x_key=p["x_key"], y_key=p["y_key"])),
        samples=_tensor_rows,
    ),
    NodeType(
        "data.image_folder", "data",
        "Images in one sub-folder per class, decoded as batches need them.",
        outputs=(Port("x", "map", doc="images [B,C,size,size] in [0,1], or normalised"),
                 _LABEL),
        params=(Text("path", "images", "folder path, relative to the graph file"),
                Int("size", 32, "height and width after resizing", min=4, max=1024),
                Bool("grayscale", False, "one channel instead of three"),
                Choice("crop", None, "empty: resize to size x size; center: shorter side to "
                       "size, then the centre square; random: a random square for training",
                       optional=True, choices=("center", "random")),
                Normalize("normalize", None, "per channel: (x - mean) / std", optional=True),
                Int("workers", None, "processes decoding images; 0: the training process; "
                    "empty: one per CPU, at most 8", optional=True, min=0, max=64)) + COMMON,
        data=_image_folder, key_params=("path", "size"),
        emit_data=_streamed,
        samples=_image_files,
    ),
]
