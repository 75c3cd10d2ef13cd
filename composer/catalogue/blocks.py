"""Composite blocks: several layers a user would otherwise wire by hand every time."""

from __future__ import annotations

from composer.catalogue import sizes
from composer.catalogue.base import NodeType, Port
from composer.params import WEIGHTS_INIT, Int

_IN = (Port("in", "map", doc="feature maps [B,C,H,W]"),)
_OUT = (Port("out", "map"),)


def _residual_weights(p, s) -> int:
    """Two 3x3 convs and their norms, plus a 1x1 projection and norm when the shape changes."""
    c_in, c_out = s["in"][1], p["out_channels"]
    count = sizes.conv_weights(c_in, c_out, 3, False) + sizes.conv_weights(c_out, c_out, 3, False)
    if p["stride"] != 1 or c_in != c_out:
        count += sizes.conv_weights(c_in, c_out, 1, False) + 2 * c_out
    return count + 4 * c_out

TYPES = [
    NodeType(
        "block.conv_bn_relu", "block",
        "Conv, batch norm and ReLU; padding k//2, so stride 1 keeps height and width.",
        inputs=_IN, outputs=_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("kernel_size", 3, "square kernel size (odd keeps the size)", min=1, max=31),
                Int("stride", 1, "step between windows", min=1, max=16), WEIGHTS_INIT),
        module=lambda p, s: (
            f"nn.Sequential(nn.Conv2d({s['in'][1]}, {p['out_channels']}, "
            f"{p['kernel_size']}, stride={p['stride']}, padding={p['kernel_size'] // 2}, "
            f"bias=False), nn.BatchNorm2d({p['out_channels']}), nn.ReLU())"),
        forward=lambda p, a, m: f"{m}({a['in']})",
        shape=lambda p, s: sizes.conv2d(s["in"], p["out_channels"], p["kernel_size"],
                                        p["stride"], p["kernel_size"] // 2),
        weights=lambda p, s: (sizes.conv_weights(s["in"][1], p["out_channels"],
                                                 p["kernel_size"], False)
                              + 2 * p["out_channels"]),
        key_params=("out_channels", "kernel_size", "stride"),
    ),
    NodeType(
        "block.residual", "block",
        "Two 3x3 conv-bn layers with a skip connection (projected when the shape changes).",
        inputs=_IN, outputs=_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("stride", 1, "2 halves height and width", min=1, max=4), WEIGHTS_INIT),
        module=lambda p, s: f"Residual({s['in'][1]}, {p['out_channels']}, stride={p['stride']})",
        forward=lambda p, a, m: f"{m}({a['in']})",
        shape=lambda p, s: sizes.conv2d(s["in"], p["out_channels"], 3, p["stride"], 1),
        weights=_residual_weights,
        runtime=("Residual",), key_params=("out_channels", "stride"),
    ),
]
