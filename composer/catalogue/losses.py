"""Loss nodes. Each yields a scalar; the optimiser group that lists it minimises weight x value."""

from __future__ import annotations

from composer.catalogue import rules, sizes
from composer.catalogue.base import NodeType, Port
from composer.params import Float

_WEIGHT = Float("weight", 1.0, "multiplies this loss in its group's objective", min=0.0)
_OUT = (Port("loss", "loss"),)
_PRED = Port("pred", "tensor", doc="predictions")


def _pair(fn: str, extra: str = ""):
    return lambda p, a, m: f"{fn}({a['pred']}, {a['target']}{extra.format(**p)})"


def _bce(p, a, m) -> str:
    target = a.get("target") or f"torch.full_like({a['pred']}, {p['target_value']!r})"
    return f"F.binary_cross_entropy_with_logits({a['pred']}, {target})"


def _bce_on_probabilities(p, a, m) -> str:
    target = a.get("target") or f"torch.full_like({a['pred']}, {p['target_value']!r})"
    return f"F.binary_cross_entropy({a['pred']}, {target})"


def _check_cross_entropy(p, inputs):
    pred, target = inputs.get("pred"), inputs.get("target")
    problem = rules.ranks("pred", pred, (2,), "logits [B,classes] at pred",
                          "add a layer.flatten and a layer.linear before it")
    if problem or pred is None or target is None:
        return problem
    if target.classes is not None and target.classes > pred.shape[1]:
        return "pred", (f"target has {target.classes} classes but pred is {pred}, "
                        f"{pred.shape[1]} logits; give the layer before it "
                        f"{target.classes} outputs")
    return None


TYPES = [
    NodeType(
        "loss.cross_entropy", "loss",
        "Classification loss on logits [B,classes] and integer labels [B]; reports accuracy.",
        inputs=(Port("pred", "tensor", doc="logits [B,classes]"),
                Port("target", "label", doc="class ids [B]")),
        outputs=_OUT,
        shape=sizes.scalar,
        params=(_WEIGHT, Float("label_smoothing", 0.0, "spread of the target", min=0.0,
                               max=0.99)),
        forward=lambda p, a, m: (
            f"F.cross_entropy({a['pred']}, {a['target']}"
            + (f", label_smoothing={p['label_smoothing']!r})" if p["label_smoothing"] else ")")),
        check=_check_cross_entropy, accuracy=True, keywords=("ce", "crossentropy", "nll"),
        key_params=("weight",),
    ),
    NodeType(
        "loss.bce_logits", "loss",
        "Binary cross-entropy on logits; without a target, every element aims at target_value.",
        inputs=(_PRED, Port("target", "tensor", optional=True, doc="0/1 targets like pred")),
        outputs=_OUT,
        shape=sizes.scalar,
        params=(_WEIGHT, Float("target_value", 1.0, "used when target is unwired: 1 real, 0 fake",
                               min=0.0, max=1.0)),
        forward=_bce, key_params=("weight", "target_value"), keywords=("bce", "gan"),
        check=lambda p, inputs: rules.loss_pair("bce", inputs, broadcasts=False),
    ),
    NodeType(
        "loss.bce", "loss",
        "Binary cross-entropy on probabilities in [0,1] (after a layer.sigmoid, as DCGAN has); "
        "without a target, every element aims at target_value.",
        inputs=(Port("pred", "tensor", doc="probabilities in [0,1]"),
                Port("target", "tensor", optional=True, doc="0/1 targets like pred")),
        outputs=_OUT,
        shape=sizes.scalar,
        params=(_WEIGHT, Float("target_value", 1.0, "used when target is unwired: 1 real, 0 fake",
                               min=0.0, max=1.0)),
        forward=_bce_on_probabilities, key_params=("weight", "target_value"),
        check=lambda p, inputs: rules.loss_pair("bce", inputs, broadcasts=False),
    ),
    NodeType(
        "loss.mse", "loss", "Mean squared error between same-shaped tensors.",
        inputs=(_PRED, Port("target", "tensor")), outputs=_OUT, params=(_WEIGHT,),
        shape=sizes.scalar,
        forward=_pair("F.mse_loss"), key_params=("weight",), keywords=("l2",),
        check=lambda p, inputs: rules.loss_pair("mse", inputs),
    ),
    NodeType(
        "loss.l1", "loss", "Mean absolute error between same-shaped tensors.",
        inputs=(_PRED, Port("target", "tensor")), outputs=_OUT, params=(_WEIGHT,),
        shape=sizes.scalar,
        forward=_pair("F.l1_loss"), key_params=("weight",),
        check=lambda p, inputs: rules.loss_pair("l1", inputs),
    ),
    NodeType(
        "loss.smooth_l1", "loss", "Huber-like loss: quadratic near zero, linear beyond beta.",
        inputs=(_PRED, Port("target", "tensor")), outputs=_OUT,
        shape=sizes.scalar,
        params=(_WEIGHT, Float("beta", 1.0, "where the loss turns linear", min=0.0,
                               min_exclusive=True)),
        forward=_pair("F.smooth_l1_loss", ", beta={beta!r}"), key_params=("weight",),
        keywords=("huber",),
        check=lambda p, inputs: rules.loss_pair("smooth_l1", inputs),
    ),
]
