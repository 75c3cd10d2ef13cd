"""Modules and functions that generated models use beyond torch.nn.

Self-contained (torch only) so that export can copy them into a standalone file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Residual(nn.Module):
    """Two 3x3 conv-bn layers with a skip connection, projected by a 1x1 conv when needed."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.skip = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.skip(x))


def _as_sequence(x: torch.Tensor) -> torch.Tensor:
    """[B,C,H,W] -> [B,H*W,C]; [B,F] -> [B,1,F]; [B,L,F] stays."""
    if x.dim() == 4:
        return x.flatten(2).transpose(1, 2)
    if x.dim() == 2:
        return x.unsqueeze(1)
    return x


class Attention(nn.Module):
    """Scaled dot-product attention of a query branch over a value (and key) branch.

    Feature maps are read as sequences of H*W vectors; the result has the query's shape.
    """

    def __init__(self, query_dim: int, key_dim: int, value_dim: int, heads: int = 1) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(query_dim, heads, kdim=key_dim, vdim=value_dim,
                                          batch_first=True)

    def forward(self, query: torch.Tensor, value: torch.Tensor,
                key: torch.Tensor | None = None) -> torch.Tensor:
        q = _as_sequence(query)
        v = _as_sequence(value)
        k = v if key is None else _as_sequence(key)
        out, _ = self.attn(q, k, v, need_weights=False)
        if query.dim() == 4:
            return out.transpose(1, 2).reshape(query.shape)
        return out.reshape(query.shape)


def roi_align(features: torch.Tensor, boxes: torch.Tensor, output_size: int = 7) -> torch.Tensor:
    """Crop each image's feature map at its box (x0, y0, x1, y1 in [0, 1]), bilinearly.

    Differentiable in both the features and the boxes, so a detector's loss can reach the
    network that proposed the boxes.
    """
    b = features.shape[0]
    x0, y0, x1, y1 = boxes.unbind(1)
    theta = features.new_zeros(b, 2, 3)
    theta[:, 0, 0] = x1 - x0
    theta[:, 0, 2] = x0 + x1 - 1
    theta[:, 1, 1] = y1 - y0
    theta[:, 1, 2] = y0 + y1 - 1
    size = [b, features.shape[1], output_size, output_size]
    grid = F.affine_grid(theta, size, align_corners=False)
    return F.grid_sample(features, grid, align_corners=False)
