"""Composite blocks: several layers a user would otherwise wire by hand every time."""

from __future__ import annotations

from composer.catalogue.base import NodeType, Port
from composer.params import Int

_IN = (Port("in", "map", doc="feature maps [B,C,H,W]"),)
_OUT = (Port("out", "map"),)

TYPES = [
    NodeType(
        "block.conv_bn_relu", "block",
        "Conv, batch norm and ReLU; padding k//2, so stride 1 keeps height and width.",
        inputs=_IN, outputs=_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("kernel_size", 3, "square kernel size (odd keeps the size)", min=1, max=31),
                Int("stride", 1, "step between windows", min=1, max=16)),
        module=lambda p, s: (
            f"nn.Sequential(nn.Conv2d({s['in'][1]}, {p['out_channels']}, "
            f"{p['kernel_size']}, stride={p['stride']}, padding={p['kernel_size'] // 2}, "
            f"bias=False), nn.BatchNorm2d({p['out_channels']}), nn.ReLU())"),
        forward=lambda p, a, m: f"{m}({a['in']})",
        key_params=("out_channels", "kernel_size", "stride"),
    ),
    NodeType(
        "block.residual", "block",
        "Two 3x3 conv-bn layers with a skip connection (projected when the shape changes).",
        inputs=_IN, outputs=_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("stride", 1, "2 halves height and width", min=1, max=4)),
        module=lambda p, s: f"Residual({s['in'][1]}, {p['out_channels']}, stride={p['stride']})",
        forward=lambda p, a, m: f"{m}({a['in']})",
        runtime=("Residual",), key_params=("out_channels", "stride"),
    ),
]
