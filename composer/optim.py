"""Declarations of optimisers, group schedules and LR schedules.

File loading validates group settings with these; the groups panel builds its widgets from them.
The arguments follow torch.optim's names.
"""

from __future__ import annotations

from composer.params import Bool, Float, Int, Param

_LR = Float("lr", 0.001, "learning rate", min=0.0, min_exclusive=True, max=10.0)
_WD = Float("weight_decay", 0.0, "L2 penalty (decoupled for adamw)", min=0.0)
_EPS = Float("eps", 1e-8, "added to the denominator", min=0.0, min_exclusive=True)
_MOMENTUM = Float("momentum", 0.0, "momentum factor", min=0.0, max=1.0)


class Betas(Param):
    """Adam's two decay rates."""

    kind = "betas"

    def _check(self, value):
        from composer.errors import ParamError

        ok = (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1
                      for v in value))
        if not ok:
            raise ParamError(f"expected two numbers in [0, 1), got {value!r}")
        return [float(v) for v in value]

    def describe(self) -> str:
        return "two numbers in [0, 1)"


_BETAS = Betas("betas", [0.9, 0.999], "decay rates of the moment estimates")

OPTIMIZERS: dict[str, tuple[Param, ...]] = {
    "sgd": (_LR, _MOMENTUM, Bool("nesterov", False, "Nesterov momentum"), _WD),
    "adam": (_LR, _BETAS, _EPS, _WD),
    "adamw": (_LR, _BETAS, _EPS, Float("weight_decay", 0.01, "decoupled weight decay", min=0.0)),
    "rmsprop": (_LR, Float("alpha", 0.99, "smoothing constant", min=0.0, max=1.0), _EPS,
                _MOMENTUM, _WD),
}

LR_SCHEDULES: dict[str, tuple[Param, ...]] = {
    "constant": (),
    "step": (Int("step_size", 100, "updates between decays", min=1),
             Float("gamma", 0.1, "decay factor", min=0.0, max=1.0)),
    "cosine": (Int("total_steps", None, "updates to anneal over; empty means the group's "
                   "active updates in the run", min=1, optional=True),
               Float("min_lr", 0.0, "learning rate at the end", min=0.0)),
    "warmup_cosine": (Int("warmup_steps", 100, "updates of linear warm-up", min=0),
                      Int("total_steps", None, "as for cosine", min=1, optional=True),
                      Float("min_lr", 0.0, "learning rate at the end", min=0.0)),
    "exponential": (Float("gamma", 0.999, "decay factor per update", min=0.0, max=1.0),),
}

# What generated code calls for each: a torch.optim class, a function of
# composer/runtime/schedules.py ("constant" calls none).
OPTIMIZER_CLASSES = {"sgd": "torch.optim.SGD", "adam": "torch.optim.Adam",
                     "adamw": "torch.optim.AdamW", "rmsprop": "torch.optim.RMSprop"}
LR_FUNCTIONS = {"step": "step_lr", "cosine": "cosine_lr", "warmup_cosine": "warmup_cosine_lr",
                "exponential": "exponential_lr"}

DEVICES = ("auto", "cpu", "cuda", "mps")
