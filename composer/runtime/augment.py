"""Augmentation ops for training batches: `op(x, generator, rows, **args) -> x`, on any device.

Random choices come from the generator the data source seeds per draw, so augmented batches
are reproducible. They are drawn for the whole global batch and `rows` (a Rows) picks this
process's share, so a row gets the same augmentation in any number of processes. Images are
[B,C,H,W]; only gaussian_noise accepts other shapes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from composer.runtime.errors import DataSourceError


class Rows(NamedTuple):
    """Which rows of the global batch x holds: `count` rows from `start`, of `total` in all."""

    start: int
    count: int
    total: int

    @staticmethod
    def all(x: torch.Tensor) -> Rows:
        return Rows(0, x.shape[0], x.shape[0])

    def of(self, drawn: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This share of numbers drawn for the whole batch (along `dim`)."""
        return drawn.narrow(dim, self.start, self.count)


def _images(x: torch.Tensor, op: str) -> None:
    if x.dim() != 4:
        raise DataSourceError(None, f"{op} needs images [B,C,H,W], got {list(x.shape)}")


def random_shift(x: torch.Tensor, g: torch.Generator, rows: Rows | None = None, *,
                 pixels: int) -> torch.Tensor:
    """Moves each image by up to `pixels` in x and y, filling with zeros."""
    rows = rows or Rows.all(x)
    _images(x, "random_shift")
    if pixels == 0:
        return x
    b, _, h, w = x.shape
    shift = rows.of(torch.randint(-pixels, pixels + 1, (2, rows.total), generator=g), 1
                    ).to(x.device)
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    ys = torch.arange(h, device=x.device)[None, :] + pixels - shift[0][:, None]  # [B,H]
    cols = torch.arange(w, device=x.device)[None, :] + pixels - shift[1][:, None]  # [B,W]
    images = torch.arange(b, device=x.device)[:, None, None]
    return padded[images, :, ys[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def hflip(x: torch.Tensor, g: torch.Generator, rows: Rows | None = None, *,
          p: float) -> torch.Tensor:
    """Mirrors each image left-right with probability p."""
    rows = rows or Rows.all(x)
    _images(x, "hflip")
    flip = (rows.of(torch.rand(rows.total, generator=g)) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def vflip(x: torch.Tensor, g: torch.Generator, rows: Rows | None = None, *,
          p: float) -> torch.Tensor:
    """Mirrors each image top-bottom with probability p."""
    rows = rows or Rows.all(x)
    _images(x, "vflip")
    flip = (rows.of(torch.rand(rows.total, generator=g)) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(2), x)


def gaussian_noise(x: torch.Tensor, g: torch.Generator, rows: Rows | None = None, *,
                   std: float) -> torch.Tensor:
    """Adds normal noise of standard deviation std to every element."""
    rows = rows or Rows.all(x)
    noise = rows.of(torch.randn((rows.total, *x.shape[1:]), generator=g))
    return x + std * noise.to(x.device, x.dtype)


def random_rotate(x: torch.Tensor, g: torch.Generator, rows: Rows | None = None, *,
                  degrees: float) -> torch.Tensor:
    """Rotates each image by an angle in [-degrees, degrees] about its centre (zeros outside)."""
    rows = rows or Rows.all(x)
    _images(x, "random_rotate")
    angle = (rows.of(torch.rand(rows.total, generator=g)) * 2 - 1) * (degrees * math.pi / 180)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)
