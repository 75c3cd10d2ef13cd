"""torch.nn layers, one declaration each. Input sizes come from shape inference."""

from __future__ import annotations

from composer.catalogue import rules, sizes
from composer.catalogue.base import NodeType, Port, Source, call
from composer.params import NORM_INIT, WEIGHTS_INIT, Bool, Choice, Float, Int, IntList

MAP_IN = (Port("in", "map", doc="feature maps [B,C,H,W]"),)
ANY_IN = (Port("in", "tensor"),)
MAP_OUT = (Port("out", "map"),)


def _features(shape: tuple[int, ...]) -> int:
    return shape[1]


def _unary(template: str):
    """A forward whose single input is called `x` in the template."""
    return lambda p, a, m: template.format(x=a["in"], m=m, **p)


def _module_call(p, a, m):
    return f"{m}({a['in']})"


def _kw(p, **torch_defaults) -> dict:
    """The parameters that differ from torch's defaults, so emitted calls stay short."""
    return {k: p[k] for k, d in torch_defaults.items() if p[k] != d}


def _pool_kw(p) -> dict:
    kw = {"kernel_size": p["kernel_size"]}
    if p["stride"] is not None:
        kw["stride"] = p["stride"]
    if p["padding"]:
        kw["padding"] = p["padding"]
    return kw


# --- checks: problems in the user's terms before inference runs (see rules.py) -----------------

def _check_conv(p, inputs):
    k, d = p["kernel_size"], p["dilation"]
    span = d * (k - 1) + 1
    if d == 1:
        what, fix = f"kernel_size {k}", "use a smaller kernel_size or fewer poolings before it"
    else:
        what = f"kernel_size {k} with dilation {d} ({span} wide)"
        fix = "use a smaller kernel_size or dilation, or fewer poolings before it"
    return rules.window("in", inputs.get("in"), span, p["padding"], what, fix)


def _check_conv_transpose(p, inputs):
    if p["output_padding"] >= p["stride"]:
        return None, (f"output_padding is {p['output_padding']} but it must be smaller than "
                      f"stride ({p['stride']})")
    return None


def _check_pool(p, inputs):
    if p["padding"] > p["kernel_size"] // 2:
        return None, (f"padding is {p['padding']} but it can be at most half of kernel_size "
                      f"({p['kernel_size']} // 2 = {p['kernel_size'] // 2})")
    return rules.window("in", inputs.get("in"), p["kernel_size"], p["padding"],
                        f"kernel_size {p['kernel_size']}",
                        "use a smaller kernel_size or fewer poolings before it")


def _check_linear(p, inputs):
    return rules.ranks("in", inputs.get("in"), rules.AT_LEAST_2D, "vectors [B,F]",
                       "add a layer.reshape before it")


def _check_batchnorm1d(p, inputs):
    info = inputs.get("in")
    fix = ("use layer.batchnorm2d for feature maps" if info is not None and info.rank == 4
           else "add a layer.reshape before it")
    return rules.ranks("in", info, (2, 3), "vectors [B,F] or sequences [B,C,L]", fix)


def _check_at_least_2d(p, inputs):
    return rules.ranks("in", inputs.get("in"), rules.AT_LEAST_2D, "at least [B,F]",
                       "add a layer.reshape before it")


def _check_reshape(p, inputs):
    info = inputs.get("in")
    if info is None:
        return None
    have, want = 1, 1
    for d in info.shape[1:]:
        have *= d
    for d in p["shape"]:
        want *= d
    if have != want:
        shape = "[B," + ",".join(str(d) for d in p["shape"]) + "]"
        return "in", (f"in is {info}, {have} values per sample, but shape {shape} holds {want}; "
                      "the counts must be equal")
    return None


def _check_softmax(p, inputs):
    info = inputs.get("in")
    if info is not None and p["dim"] >= info.rank:
        return None, (f"dim is {p['dim']} but in is {info} with {info.rank} dims; choose a dim "
                      f"from 1 to {info.rank - 1}")
    return None


def _bias(p) -> int:
    return p["out_features"] if p["bias"] else 0


def _pool_shape(p, s):
    return sizes.conv2d(s["in"], s["in"][1], p["kernel_size"], p["stride"] or p["kernel_size"],
                        p["padding"])


def _pool(type_id: str, function: str, doc: str) -> NodeType:
    """Max and average pooling differ only in the function they call."""
    return NodeType(
        type_id, "layer", doc, inputs=MAP_IN, outputs=MAP_OUT,
        params=(Int("kernel_size", 2, "window size", min=1, max=32),
                Int("stride", None, "step; empty means the window size", min=1, max=32,
                    optional=True),
                Int("padding", 0, "padding on each side", min=0, max=16)),
        check=_check_pool, shape=_pool_shape,
        forward=lambda p, a, m: call(function, Source(a["in"]), **_pool_kw(p)),
        key_params=("kernel_size",),
    )


TYPES = [
    NodeType(
        "layer.conv2d", "layer", "2-D convolution over feature maps.",
        inputs=MAP_IN, outputs=MAP_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("kernel_size", 3, "square kernel size", min=1, max=31),
                Int("stride", 1, "step between windows", min=1, max=16),
                Int("padding", 0, "zeros added on each side", min=0, max=32),
                Int("dilation", 1, "spacing between kernel taps", min=1, max=16),
                Bool("bias", True, "learn an additive bias"), WEIGHTS_INIT),
        module=lambda p, s: call("nn.Conv2d", _features(s["in"]), p["out_channels"],
                                 kernel_size=p["kernel_size"],
                                 **_kw(p, stride=1, padding=0, dilation=1, bias=True)),
        check=_check_conv, keywords=("conv", "convolution"),
        shape=lambda p, s: sizes.conv2d(s["in"], p["out_channels"], p["kernel_size"],
                                        p["stride"], p["padding"], p["dilation"]),
        weights=lambda p, s: sizes.conv_weights(s["in"][1], p["out_channels"],
                                                p["kernel_size"], p["bias"]),
        forward=_module_call, key_params=("out_channels", "kernel_size", "stride", "padding"),
    ),
    NodeType(
        "layer.conv_transpose2d", "layer", "Transposed 2-D convolution: learns to upsample maps.",
        inputs=MAP_IN, outputs=MAP_OUT,
        params=(Int("out_channels", 16, "output channels", min=1, max=4096),
                Int("kernel_size", 4, "square kernel size", min=1, max=31),
                Int("stride", 2, "upsampling factor", min=1, max=16),
                Int("padding", 1, "implicit padding removed from the output", min=0, max=32),
                Int("output_padding", 0, "extra rows and columns on one side", min=0, max=15),
                Bool("bias", True, "learn an additive bias"), WEIGHTS_INIT),
        module=lambda p, s: call("nn.ConvTranspose2d", _features(s["in"]), p["out_channels"],
                                 kernel_size=p["kernel_size"],
                                 **_kw(p, stride=1, padding=0, output_padding=0, bias=True)),
        check=_check_conv_transpose, keywords=("deconv", "upconv"),
        shape=lambda p, s: sizes.conv_transpose2d(s["in"], p["out_channels"], p["kernel_size"],
                                                  p["stride"], p["padding"],
                                                  p["output_padding"]),
        weights=lambda p, s: sizes.conv_weights(s["in"][1], p["out_channels"],
                                                p["kernel_size"], p["bias"]),
        forward=_module_call, key_params=("out_channels", "kernel_size", "stride"),
    ),
    NodeType(
        "layer.linear", "layer", "Fully connected layer over the last dimension.",
        inputs=ANY_IN,
        params=(Int("out_features", 10, "output features", min=1, max=1_000_000),
                Bool("bias", True, "learn an additive bias"), WEIGHTS_INIT),
        module=lambda p, s: call("nn.Linear", s["in"][-1], p["out_features"],
                                 **_kw(p, bias=True)),
        check=_check_linear, keywords=("dense", "fc", "fully_connected"),
        shape=lambda p, s: (*s["in"][:-1], p["out_features"]),
        weights=lambda p, s: s["in"][-1] * p["out_features"] + _bias(p),
        forward=_module_call, key_params=("out_features",),
    ),
    NodeType(
        "layer.batchnorm1d", "layer", "Batch normalisation of vectors [B,F] (or [B,C,L]).",
        inputs=(Port("in", "tensor"),),
        params=(Float("eps", 1e-5, "added to the variance", min=0.0, min_exclusive=True),
                Float("momentum", 0.1, "running-statistics update rate", min=0.0, max=1.0),
                NORM_INIT),
        module=lambda p, s: call("nn.BatchNorm1d", _features(s["in"]),
                                 **_kw(p, eps=1e-5, momentum=0.1)),
        check=_check_batchnorm1d,
        shape=sizes.same, weights=lambda p, s: 2 * _features(s["in"]),
        forward=_module_call,
    ),
    NodeType(
        "layer.batchnorm2d", "layer", "Batch normalisation of feature maps, per channel.",
        inputs=MAP_IN, outputs=MAP_OUT,
        params=(Float("eps", 1e-5, "added to the variance", min=0.0, min_exclusive=True),
                Float("momentum", 0.1, "running-statistics update rate", min=0.0, max=1.0),
                NORM_INIT),
        module=lambda p, s: call("nn.BatchNorm2d", _features(s["in"]),
                                 **_kw(p, eps=1e-5, momentum=0.1)),
        shape=sizes.same, weights=lambda p, s: 2 * _features(s["in"]),
        forward=_module_call,
    ),
    NodeType(
        "layer.layernorm", "layer", "Layer normalisation over every dimension but the batch.",
        inputs=ANY_IN,
        params=(Float("eps", 1e-5, "added to the variance", min=0.0, min_exclusive=True),
                NORM_INIT),
        module=lambda p, s: call("nn.LayerNorm", list(s["in"][1:]), **_kw(p, eps=1e-5)),
        check=_check_at_least_2d,
        shape=sizes.same, weights=lambda p, s: 2 * sizes.product(s["in"][1:]),
        forward=_module_call,
    ),
    _pool("layer.maxpool2d", "F.max_pool2d",
          "Max pooling: keeps the strongest response in each window."),
    _pool("layer.avgpool2d", "F.avg_pool2d", "Average pooling over windows."),
    NodeType(
        "layer.adaptive_avgpool2d", "layer", "Average pooling to a fixed output size.",
        inputs=MAP_IN, outputs=MAP_OUT,
        params=(Int("output_size", 1, "output height and width", min=1, max=256),),
        forward=lambda p, a, m: f"F.adaptive_avg_pool2d({a['in']}, {p['output_size']})",
        shape=lambda p, s: sizes.spatial(s["in"], s["in"][1], p["output_size"],
                                         p["output_size"]),
        key_params=("output_size",),
    ),
    NodeType(
        "layer.dropout", "layer", "Zeroes random elements while training.",
        inputs=ANY_IN,
        params=(Float("p", 0.5, "probability of dropping an element", min=0.0, max=0.99),),
        forward=lambda p, a, m: f"F.dropout({a['in']}, p={p['p']!r}, training=self.training)",
        shape=sizes.same,
        key_params=("p",),
    ),
    NodeType(
        "layer.flatten", "layer", "Flattens everything but the batch: maps become vectors.",
        inputs=ANY_IN, outputs=(Port("out", "vector"),),
        check=_check_at_least_2d,
        forward=_unary("torch.flatten({x}, 1)"),
        shape=lambda p, s: (s["in"][0], sizes.product(s["in"][1:])),
    ),
    NodeType(
        "layer.reshape", "layer", "Reshapes each sample to `shape` (without the batch).",
        inputs=ANY_IN, outputs=(Port("out", "tensor"),),
        params=(IntList("shape", [1, 8, 8], "the new shape without the batch"),),
        check=_check_reshape,
        forward=lambda p, a, m: f"{a['in']}.reshape({a['in']}.shape[0], "
                                f"{', '.join(str(d) for d in p['shape'])})",
        shape=lambda p, s: (s["in"][0], *p["shape"]),
        key_params=("shape",),
    ),
    NodeType(
        "layer.upsample", "layer", "Upsamples feature maps by an integer factor.",
        inputs=MAP_IN, outputs=MAP_OUT,
        params=(Int("scale_factor", 2, "size multiplier", min=1, max=16),
                Choice("mode", "nearest", "interpolation", choices=("nearest", "bilinear"))),
        forward=lambda p, a, m: call("F.interpolate", Source(a["in"]),
                                     scale_factor=p["scale_factor"], mode=p["mode"]),
        shape=lambda p, s: sizes.spatial(s["in"], s["in"][1], s["in"][2] * p["scale_factor"],
                                         s["in"][3] * p["scale_factor"]),
        key_params=("scale_factor",),
    ),
    NodeType("layer.relu", "layer", "max(x, 0).", inputs=ANY_IN,
             forward=_unary("F.relu({x})"), shape=sizes.same),
    NodeType(
        "layer.leaky_relu", "layer", "ReLU with a small slope for negative inputs.",
        inputs=ANY_IN,
        params=(Float("negative_slope", 0.01, "slope below zero", min=0.0, max=1.0),),
        forward=lambda p, a, m: f"F.leaky_relu({a['in']}, {p['negative_slope']!r})",
        shape=sizes.same,
    ),
    NodeType("layer.sigmoid", "layer", "Squashes to (0, 1).", inputs=ANY_IN,
             forward=_unary("torch.sigmoid({x})"), shape=sizes.same),
    NodeType("layer.tanh", "layer", "Squashes to (-1, 1).", inputs=ANY_IN,
             forward=_unary("torch.tanh({x})"), shape=sizes.same),
    NodeType("layer.gelu", "layer", "Gaussian error linear unit.", inputs=ANY_IN,
             forward=_unary("F.gelu({x})"), shape=sizes.same),
    NodeType(
        "layer.softmax", "layer", "Normalises to probabilities along `dim`.",
        inputs=ANY_IN,
        params=(Int("dim", 1, "dimension that sums to one", min=1, max=3),),
        check=_check_softmax,
        forward=lambda p, a, m: f"F.softmax({a['in']}, dim={p['dim']})",
        shape=sizes.same,
    ),
]
