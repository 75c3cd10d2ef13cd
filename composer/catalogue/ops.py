"""Operations without parameters that change how gradients or regions flow."""

from __future__ import annotations

from composer.catalogue import sizes
from composer.catalogue.base import NodeType, Port
from composer.params import Int

TYPES = [
    NodeType(
        "op.detach", "op",
        "Stops gradients: what follows cannot train what comes before (a GAN's D step).",
        inputs=(Port("in", "tensor"),),
        forward=lambda p, a, m: f"{a['in']}.detach()", stops_gradient=True,
        shape=sizes.same,
    ),
    NodeType(
        "op.roi_align", "op",
        "Crops each image's feature map at its box, bilinearly and differentiably.",
        inputs=(Port("features", "map", doc="feature maps [B,C,H,W]"),
                Port("boxes", "boxes", doc="one box per image [B,4]: x0,y0,x1,y1 in [0,1]")),
        outputs=(Port("out", "map"),),
        params=(Int("output_size", 7, "height and width of each crop", min=1, max=64),),
        forward=lambda p, a, m: (f"roi_align({a['features']}, {a['boxes']}, "
                                 f"output_size={p['output_size']})"),
        shape=lambda p, s: sizes.spatial(s["features"], s["features"][1], p["output_size"],
                                         p["output_size"]),
        runtime=("roi_align",), key_params=("output_size",),
    ),
]
