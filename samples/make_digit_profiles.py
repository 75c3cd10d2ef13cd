"""Writes digit_profiles.npz: a second modality for the two-network sample.

Each of scikit-learn's 1,797 8x8 digits becomes a 16-number signal: its 8 row sums followed by
its 8 column sums, scaled to [0, 1]. The signal is derived from the image, so it carries less
information than the image (it cannot tell some mirrored strokes apart); the sample trains an
image network and a signal network side by side. Run from anywhere:

    python samples/make_digit_profiles.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "digit_profiles.npz"


def profiles(images: np.ndarray) -> np.ndarray:
    """Row sums then column sums of each image, scaled so that a full row or column is 1."""
    images = images.astype(np.float32) / 16.0  # sklearn's pixels are 0..16
    width = images.shape[-1]
    rows = images.sum(axis=2) / width
    cols = images.sum(axis=1) / width
    return np.concatenate([rows, cols], axis=1).astype(np.float32)


def main() -> None:
    digits = load_digits()
    x = profiles(digits.images)
    y = digits.target.astype(np.int64)
    np.savez_compressed(OUT, x=x, y=y)
    print(f"wrote {OUT.name}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}")


if __name__ == "__main__":
    main()
