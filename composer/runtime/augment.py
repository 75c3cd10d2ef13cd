"""Augmentation ops for training batches: `op(x, generator, **args) -> x`, on any device.

Random choices come from the generator the data source seeds per draw, so augmented batches
are reproducible. Images are [B,C,H,W]; only gaussian_noise accepts other shapes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from composer.runtime.errors import DataSourceError


def _images(x: torch.Tensor, op: str) -> None:
    if x.dim() != 4:
        raise DataSourceError(None, f"{op} needs images [B,C,H,W], got {list(x.shape)}")


def random_shift(x: torch.Tensor, g: torch.Generator, pixels: int) -> torch.Tensor:
    """Moves each image by up to `pixels` in x and y, filling with zeros."""
    _images(x, "random_shift")
    if pixels == 0:
        return x
    b, _, h, w = x.shape
    shift = torch.randint(-pixels, pixels + 1, (2, b), generator=g).to(x.device)
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    rows = torch.arange(h, device=x.device)[None, :] + pixels - shift[0][:, None]  # [B,H]
    cols = torch.arange(w, device=x.device)[None, :] + pixels - shift[1][:, None]  # [B,W]
    images = torch.arange(b, device=x.device)[:, None, None]
    return padded[images, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def hflip(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """Mirrors each image left-right with probability p."""
    _images(x, "hflip")
    flip = (torch.rand(x.shape[0], generator=g) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def vflip(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """Mirrors each image top-bottom with probability p."""
    _images(x, "vflip")
    flip = (torch.rand(x.shape[0], generator=g) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(2), x)


def gaussian_noise(x: torch.Tensor, g: torch.Generator, std: float) -> torch.Tensor:
    """Adds normal noise of standard deviation std to every element."""
    return x + std * torch.randn(x.shape, generator=g).to(x.device, x.dtype)


def random_rotate(x: torch.Tensor, g: torch.Generator, degrees: float) -> torch.Tensor:
    """Rotates each image by an angle in [-degrees, degrees] about its centre (zeros outside)."""
    _images(x, "random_rotate")
    angle = (torch.rand(x.shape[0], generator=g) * 2 - 1) * (degrees * math.pi / 180)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)
