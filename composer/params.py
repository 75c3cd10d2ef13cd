"""Parameter declarations: the type, default, range and doc of one node parameter.

The inspector builds its widgets from these, file loading validates with them, and code
generation writes only values that passed `validate`, as Python literals.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from composer.errors import ParamError


def _show(value: Any) -> str:
    """A value as the user wrote it in JSON, for error messages."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@dataclass(frozen=True)
class Param:
    """Base declaration. `validate` returns the normalised value or raises ParamError."""

    name: str
    default: Any
    doc: str = ""
    optional: bool = False  # null is allowed and means "not set"

    kind = "any"
    # whether a network parameter may set it, each instance giving its own value
    network_param = True

    def validate(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        return self._check(value)

    def _check(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        """What a valid value looks like, for messages and tooltips."""
        return self.kind


@dataclass(frozen=True)
class Int(Param):
    min: int | None = None
    max: int | None = None
    kind = "int"

    def _check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        too_low = self.min is not None and value < self.min
        if too_low or (self.max is not None and value > self.max):
            raise ParamError(f"expected {self.describe()}, got {value}")
        return value

    def describe(self) -> str:
        if self.min == 1 and self.max is None:
            return "a positive integer"
        if self.min == 0 and self.max is None:
            return "an integer >= 0"
        if self.min is not None and self.max is not None:
            return f"an integer from {self.min} to {self.max}"
        if self.min is not None:
            return f"an integer >= {self.min}"
        return "an integer"


@dataclass(frozen=True)
class Float(Param):
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    kind = "float"

    def _check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ParamError(f"expected a finite number, got {value}")
        low_bad = self.min is not None and (
            value <= self.min if self.min_exclusive else value < self.min)
        if low_bad or (self.max is not None and value > self.max):
            raise ParamError(f"expected {self.describe()}, got {value:g}")
        return value

    def describe(self) -> str:
        low = None if self.min is None else (f"> {self.min:g}" if self.min_exclusive
                                             else f">= {self.min:g}")
        if low and self.max is not None:
            return f"a number {low} and <= {self.max:g}"
        if low:
            return f"a number {low}"
        return "a number"


@dataclass(frozen=True)
class Bool(Param):
    kind = "bool"

    def _check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ParamError(f"expected true or false, got {_show(value)}")
        return value

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()
    kind = "choice"

    def _check(self, value: Any) -> str:
        if value not in self.choices or not isinstance(value, str):
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(f'"{c}"' for c in self.choices)


_SAFE_TEXT = re.compile(r"[^\x00-\x1f\x7f]*")


@dataclass(frozen=True)
class Text(Param):
    """Free text such as a path. Written into code only as an escaped string literal."""

    kind = "text"

    def _check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ParamError(f"expected a string, got {_show(value)}")
        if not _SAFE_TEXT.fullmatch(value):
            raise ParamError("expected text without control characters")
        return value

    def describe(self) -> str:
        return "a string"


@dataclass(frozen=True)
class Names(Param):
    """A list of distinct names, such as a table's columns."""

    kind = "names"

    def _check(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        for v in value:
            if not v.strip() or not _SAFE_TEXT.fullmatch(v):
                raise ParamError(f"expected names that are not empty and hold no control "
                                 f"characters, got {_show(v)}")
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            raise ParamError(f"{_show(twice[0])} is listed twice")
        return list(value)

    def describe(self) -> str:
        return "a list of names" + (" (or null)" if self.optional else "")


@dataclass(frozen=True)
class IntList(Param):
    """A list of positive integers, e.g. a shape without the batch dimension."""

    min_len: int = 1
    max_len: int = 8
    kind = "int_list"

    def _check(self, value: Any) -> list[int]:
        if not isinstance(value, list) or not self.min_len <= len(value) <= self.max_len:
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        return list(value)

    def describe(self) -> str:
        return f"a list of {self.min_len} to {self.max_len} positive integers"


@dataclass(frozen=True)
class Split(Param):
    """Train/validation/test ratios: three numbers >= 0 that add up to 1."""

    kind = "split"

    def _check(self, value: Any) -> list[float]:
        ok = (isinstance(value, list) and len(value) == 3
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))
        if not ok or any(v < 0 for v in value) or abs(sum(value) - 1.0) > 1e-6 or value[0] <= 0:
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        return [float(v) for v in value]

    def describe(self) -> str:
        return "three ratios [train, val, test] >= 0 that add up to 1, train > 0"


@dataclass(frozen=True)
class Normalize(Param):
    """Per-channel `{"mean": [...], "std": [...]}`: x becomes (x - mean) / std."""

    kind = "normalize"

    def _check(self, value: Any) -> dict[str, list[float]]:
        if not isinstance(value, dict) or set(value) != {"mean", "std"}:
            raise ParamError(f"expected {self.describe()}, got {_show(value)}")
        clean = {}
        for key in ("mean", "std"):
            values = value[key]
            if not isinstance(values, list) or not values or any(
                    isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                    for v in values):
                raise ParamError(f"{key}: expected a list of numbers, one per channel, got "
                                 f"{_show(values)}")
            clean[key] = [float(v) for v in values]
        if len(clean["mean"]) != len(clean["std"]):
            raise ParamError(f"mean has {len(clean['mean'])} values but std has "
                             f"{len(clean['std'])}; give one of each per channel")
        if any(v <= 0 for v in clean["std"]):
            raise ParamError(f"std: expected numbers > 0, got {_show(value['std'])}")
        return clean

    def describe(self) -> str:
        return '{"mean": [...], "std": [...]}, one number per channel in each, std > 0'


# Augmentation ops: name -> {argument: declaration}. Applied to the training split only.
AUGMENT_OPS: dict[str, dict[str, Param]] = {
    "random_shift": {"pixels": Int("pixels", 1, min=0, max=16)},
    "hflip": {"p": Float("p", 0.5, min=0.0, max=1.0)},
    "vflip": {"p": Float("p", 0.5, min=0.0, max=1.0)},
    "gaussian_noise": {"std": Float("std", 0.05, min=0.0, max=10.0)},
    "random_rotate": {"degrees": Float("degrees", 10.0, min=0.0, max=180.0)},
}


@dataclass(frozen=True)
class Augment(Param):
    """An ordered list of augmentation steps such as `{"op": "hflip", "p": 0.5}`."""

    kind = "augment"

    def _check(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ParamError(f"expected a list of augmentation steps, got {_show(value)}")
        steps = []
        for i, step in enumerate(value):
            if not isinstance(step, dict) or not isinstance(step.get("op"), str):
                raise ParamError(f"[{i}]: expected an object with an \"op\", got {_show(step)}")
            op = step["op"]
            if op not in AUGMENT_OPS:
                known = ", ".join(AUGMENT_OPS)
                raise ParamError(f"[{i}].op: unknown augmentation \"{op}\"; known: {known}")
            args = AUGMENT_OPS[op]
            clean: dict[str, Any] = {"op": op}
            for key, arg in args.items():
                try:
                    clean[key] = arg.validate(step.get(key, arg.default))
                except ParamError as e:
                    raise ParamError(f"[{i}].{key}: {e}") from e
            extra = sorted(set(step) - set(args) - {"op"})
            if extra:
                raise ParamError(f"[{i}].{extra[0]}: unknown argument of {op}; "
                                 f"it takes {', '.join(args) or 'none'}")
            steps.append(clean)
        return steps

    def describe(self) -> str:
        return "a list of augmentation steps: " + ", ".join(AUGMENT_OPS)


# Weight initialisers: kind -> {argument: declaration}. See composer/runtime/init.py.
NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
INIT_KINDS: dict[str, dict[str, Param]] = {
    "default": {},
    "normal": {"mean": Float("mean", 0.0), "std": Float("std", 0.02, min=0.0)},
    "xavier_uniform": {"gain": Float("gain", 1.0, min=0.0)},
    "kaiming_normal": {"mode": Choice("mode", "fan_in", choices=("fan_in", "fan_out")),
                       "nonlinearity": Choice("nonlinearity", "leaky_relu",
                                              choices=NONLINEARITIES),
                       "a": Float("a", 0.0, min=0.0)},
    "zeros": {},
    "ones": {},
}
# Kinds that compute from a weight's fan-in and fan-out: a norm layer's scale has none.
FAN_KINDS = ("xavier_uniform", "kaiming_normal")
DEFAULT_INIT = {"type": "default"}


@dataclass(frozen=True)
class Init(Param):
    """How a node's weights start: `{"type": "normal", "mean": 0.0, "std": 0.02}`.

    `fans` is False for norm layers, whose weight is a per-feature scale: xavier and kaiming
    need a weight with fan-in and fan-out, so they are refused there."""

    fans: bool = True
    kind = "init"
    network_param = False  # a class would take an argument its code cannot use

    def _check(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise ParamError(f"expected an object with a \"type\" ({self._kinds()}), "
                             f"got {_show(value)}")
        kind = value["type"]
        if kind not in INIT_KINDS:
            close = difflib.get_close_matches(kind, list(INIT_KINDS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"known: {self._kinds()}"
            raise ParamError(f"unknown initialisation \"{kind}\"; {hint}", "type")
        if kind in FAN_KINDS and not self.fans:
            raise ParamError(f"{kind} needs weights with a fan-in and fan-out, but this "
                             "layer's weight is a per-feature scale; use normal, ones or zeros",
                             "type")
        args = INIT_KINDS[kind]
        clean: dict[str, Any] = {"type": kind}
        for key, arg in args.items():
            try:
                clean[key] = arg.validate(value.get(key, arg.default))
            except ParamError as e:
                raise ParamError(e.detail, key) from e
        extra = sorted(set(value) - set(args) - {"type"}, key=str)
        if extra:
            raise ParamError(f"unknown argument of {kind}; it takes "
                             f"{', '.join(args) or 'none'}", str(extra[0]))
        return clean

    def _kinds(self) -> str:
        return ", ".join(k for k in INIT_KINDS if self.fans or k not in FAN_KINDS)

    def describe(self) -> str:
        return "an initialisation: " + self._kinds()


INIT_DOC = ("how the weights start: default (torch's), normal, xavier_uniform, kaiming_normal, "
            "zeros or ones; biases start at zero unless default")
WEIGHTS_INIT = Init("init", DEFAULT_INIT, INIT_DOC)
NORM_INIT = Init("init", DEFAULT_INIT, INIT_DOC + "; on a norm layer it sets the scale",
                 fans=False)
