"""An image folder read lazily: the files are listed when a run starts and decoded only when
a batch needs their rows, so memory does not grow with the folder.

Rows come out as x [B,C,size,size] float32 in [0,1] (then normalised, when asked) and y [B]
int64 class ids. A random crop draws its offsets from the generator it is given, which the
batch source seeds per batch, so a batch is the same in any process that decodes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from composer.runtime.arrays import IMAGE_SUFFIXES, image_folder_classes
from composer.runtime.errors import DataSourceError


class ImageFolder:
    """The images of one sub-folder per class, in name order; labels are the folders' ranks.

    `crop`: None resizes every image to size x size; "center" and "random" resize the shorter
    side to size and take a size x size square, in the centre or (for training rows) at a
    random place along the longer side.
    """

    def __init__(self, node: str, path: Path, size: int, grayscale: bool = False,
                 crop: str | None = None, normalize: dict | None = None) -> None:
        try:
            from PIL import Image  # noqa: F401 (here: only image folders need Pillow)
        except ImportError as e:
            raise DataSourceError(node, "data.image_folder needs Pillow to read images: "
                                        "pip install pillow") from e
        self.node, self.root, self.size = node, Path(path), size
        self.mode = "L" if grayscale else "RGB"
        self.crop = crop
        self.files: list[str] = []  # relative to the folder, as messages name them
        labels = []
        self.class_names = []  # the sub-folder each class id stands for
        for label, folder in enumerate(image_folder_classes(node, self.root)):
            self.class_names.append(folder.name)
            names = sorted(e.name for e in os.scandir(folder)
                           if e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file())
            self.files += [f"{folder.name}/{name}" for name in names]
            labels += [label] * len(names)
        if not self.files:
            raise DataSourceError(node, f"image folder {str(path)!r} holds no images")
        self.labels = np.asarray(labels, dtype=np.int64)
        channels = 1 if grayscale else 3
        self.mean = self.std = None
        if normalize is not None:
            self.mean, self.std = (np.asarray(normalize[k], dtype=np.float32)
                                   .reshape(channels, 1, 1) for k in ("mean", "std"))

    def __len__(self) -> int:
        return len(self.files)

    def rows(self, index: np.ndarray,
             rngs: list[np.random.Generator] | None) -> dict[str, np.ndarray]:
        """x and y of these rows; `rngs`, one per row, place random crops (None: centre
        crops), so a row's crop does not depend on the rows decoded with it."""
        if len(index) == 0:  # a process's share of a small last validation batch
            channels = 1 if self.mode == "L" else 3
            return {"x": np.zeros((0, channels, self.size, self.size), np.float32),
                    "y": self.labels[index]}
        rngs = rngs if rngs is not None else [None] * len(index)
        x = np.stack([self.decode(self.files[i], rng) for i, rng in zip(index, rngs,
                                                                       strict=True)])
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return {"x": x, "y": self.labels[index]}

    def decode(self, name: str, rng: np.random.Generator | None) -> np.ndarray:
        """One image as [C,size,size] float32 in [0,1]."""
        from PIL import Image

        try:
            with Image.open(self.root / name) as im:
                im = self._resized(im.convert(self.mode), rng)
                pixels = np.asarray(im, dtype=np.float32) / 255.0
        except Exception as e:  # Pillow raises several kinds for a file it cannot decode
            why = "not a format Pillow knows" if type(e).__name__ == "UnidentifiedImageError" \
                else str(e) or type(e).__name__
            raise DataSourceError(self.node, f"cannot read {name!r} as an image ({why})") from e
        return pixels[None] if self.mode == "L" else pixels.transpose(2, 0, 1)

    def _resized(self, im, rng: np.random.Generator | None):
        s = self.size
        if self.crop is None:
            return im.resize((s, s))
        w, h = im.size
        scale = s / min(w, h)
        w, h = max(s, round(w * scale)), max(s, round(h * scale))
        im = im.resize((w, h))
        if self.crop == "random" and rng is not None:
            left, top = int(rng.integers(0, w - s + 1)), int(rng.integers(0, h - s + 1))
        else:
            left, top = (w - s) // 2, (h - s) // 2
        return im.crop((left, top, left + s, top + s))
