"""Size arithmetic and rules the catalogue's shape rules share: plain Python, so checking a
graph needs no torch.

The formulas are torch's own (the Shape sections of nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d
documentation, floor mode); tests/test_shapes_match_forward.py holds every rule that uses them
to a real forward pass. A result below 1 is returned as it is: shape inference reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Shape = tuple[int, ...]


def same(params: Mapping[str, Any], in_shapes: Mapping[str, Shape]) -> Shape:
    """The rule of activations, dropout, norms and detach: the input's shape, unchanged."""
    return next(iter(in_shapes.values()))


def scalar(params: Mapping[str, Any], in_shapes: Mapping[str, Shape]) -> Shape:
    """The rule of losses: one number."""
    return ()


def product(dims: Iterable[int]) -> int:
    """How many values a shape (or part of one) holds; 1 for none."""
    total = 1
    for d in dims:
        total *= d
    return total


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0,
             dilation: int = 1) -> int:
    """Output length of a convolution or pooling window sliding over `size` (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_out(size: int, kernel: int, stride: int = 1, padding: int = 0,
                       output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution over `size`."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def spatial(shape: Shape, channels: int, height: int, width: int) -> Shape:
    """A map's shape [B,C,H,W] with the batch of `shape`."""
    return (shape[0], channels, height, width)


def conv2d(shape: Shape, channels: int, kernel: int, stride: int = 1, padding: int = 0,
           dilation: int = 1) -> Shape:
    """[B,C,H,W] after a square convolution (or pooling, keeping C) with `channels` out."""
    return spatial(shape, channels,
                   *(conv_out(d, kernel, stride, padding, dilation) for d in shape[2:4]))


def conv_transpose2d(shape: Shape, channels: int, kernel: int, stride: int = 1,
                     padding: int = 0, output_padding: int = 0) -> Shape:
    """[B,C,H,W] after a square transposed convolution with `channels` out."""
    return spatial(shape, channels, *(conv_transpose_out(d, kernel, stride, padding,
                                                         output_padding) for d in shape[2:4]))


def conv_weights(in_channels: int, out_channels: int, kernel: int, bias: bool) -> int:
    """Parameters of a square 2-D convolution, plain or transposed."""
    return in_channels * out_channels * kernel * kernel + (out_channels if bias else 0)


def broadcast(*shapes: Shape) -> Shape:
    """The shape element-wise arithmetic gives (numpy's rule); ValueError when incompatible."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for dims in zip(*padded, strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {', '.join(str(list(s)) for s in shapes)} do not "
                             "broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def concat(shapes: Iterable[Shape], dim: int) -> Shape:
    """The first shape with `dim` the sum of every shape's `dim`."""
    shapes = list(shapes)
    first = shapes[0]
    return (*first[:dim], sum(s[dim] for s in shapes), *first[dim + 1:])
