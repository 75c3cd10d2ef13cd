"""Writes color_digits.npz: small 3x64x64 colour images for the DCGAN and ResNet-18 samples.

The first 320 of scikit-learn's 8x8 digits, enlarged 8 times with bilinear interpolation and
painted in colour: each image gets a bright ink colour and a dark paper colour of its own,
drawn from a fixed seed. Ink is rounded to sixteenths, the steps of the 8x8 originals, which
keeps the file under 1 MB. Pixels lie in [-1, 1], as DCGAN's images after its normalisation
(and as its generator's tanh draws them); labels are the digits, 0..9. Pixels are stored as
float16 to keep the file small; data.tensors reads them as float32. Run from anywhere:

    python samples/make_color_digits.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "color_digits.npz"
COUNT = 320
SIZE = 64
SEED = 0


def bilinear_matrix(small: int, large: int) -> np.ndarray:
    """[large, small] weights that resize a row of `small` values to `large` ones by linear
    interpolation between pixel centres (edges repeat the border pixel)."""
    centres = (np.arange(large) + 0.5) * small / large - 0.5
    centres = np.clip(centres, 0, small - 1)
    left = np.floor(centres).astype(int)
    right = np.minimum(left + 1, small - 1)
    frac = centres - left
    m = np.zeros((large, small))
    m[np.arange(large), left] += 1 - frac
    m[np.arange(large), right] += frac
    return m


def color_digits(images: np.ndarray, seed: int = SEED, size: int = SIZE) -> np.ndarray:
    """Grey images [N,h,w] with values 0..16 -> colour images [N,3,size,size] in [-1,1]."""
    rows = bilinear_matrix(images.shape[1], size)
    cols = bilinear_matrix(images.shape[2], size)
    ink = np.einsum("ih,nhw,jw->nij", rows, images / 16.0, cols)  # [N,size,size] in [0,1]
    ink = np.round(ink * 16) / 16  # sixteenths, as the small digits have: the file stays small
    rng = np.random.default_rng(seed)
    bright = rng.uniform(0.6, 1.0, (len(images), 3, 1, 1))
    dark = rng.uniform(0.0, 0.3, (len(images), 3, 1, 1))
    pixels = dark + (bright - dark) * ink[:, None]
    return (2 * pixels - 1).astype(np.float16)


def main() -> None:
    digits = load_digits()
    x = color_digits(digits.images[:COUNT])
    y = digits.target[:COUNT].astype(np.int64)
    np.savez_compressed(OUT, x=x, y=y)
    size_kb = OUT.stat().st_size / 1024
    print(f"wrote {OUT.name}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}, {size_kb:.0f} KiB")


if __name__ == "__main__":
    main()
