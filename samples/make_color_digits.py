"""Writes color_digits_64.npz and color_digits_32.npz: small colour images, 3x64x64 for the
DCGAN sample and 3x32x32 for the ResNet-18 sample.

The first 320 of scikit-learn's 8x8 digits, enlarged with bilinear interpolation and painted
in colour: each image gets a bright ink colour and a dark paper colour of its own, drawn from a
fixed seed, the same in both sizes. Ink is rounded to sixteenths, the steps of the 8x8
originals, which keeps the files small (under 1 MB together). Pixels lie in [-1, 1], as
DCGAN's images after its normalisation (and as its generator's tanh draws them); labels are
the digits, 0..9. Pixels are stored as float16; data.tensors reads them as float32. Run from
anywhere:

    python samples/make_color_digits.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
SIZES = (64, 32)
OUT = {size: HERE / f"color_digits_{size}.npz" for size in SIZES}
COUNT = 320
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


def color_digits(images: np.ndarray, size: int, seed: int = SEED) -> np.ndarray:
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
    y = digits.target[:COUNT].astype(np.int64)
    for size, out in OUT.items():
        x = color_digits(digits.images[:COUNT], size)
        np.savez_compressed(out, x=x, y=y)
        kib = out.stat().st_size / 1024
        print(f"wrote {out.name}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}, {kib:.0f} KiB")


if __name__ == "__main__":
    main()
