"""The one validation path of a graph's values: ids, node parameters, group settings, training.

The file loader, the checks and the GUI's edits call these; code generation builds from what the
checks validated with them and validates nothing itself. Each raises
GraphFormatError whose `where` is the place relative to what was validated (`params.kernel_size`,
`optimizer.lr`, `schedule.epochs`); callers prefix it (`nodes[3].`) or turn it into a
diagnostic. A validator returns the normalised value (3.0 for an int parameter becomes 3), which
is what the graph stores and what generated code writes.
"""

from __future__ import annotations

import difflib
import json
import keyword
import re
from typing import Any

from composer import schedules
from composer.catalogue.base import NodeType
from composer.errors import GraphFormatError, ParamError
from composer.optim import DEVICES, LR_SCHEDULES, OPTIMIZERS
from composer.params import Bool, Choice, Float, Int, Param

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Attributes of torch.nn.Module that a node id (a submodule name) must not replace, and names
# the generated forward uses itself.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "smart_apply", "state_dict", "to", "to_empty", "train", "training", "type",
    "xpu", "zero_grad", "self", "needed", "outputs", "inputs", "batch",
})
# Sizes torch needs but the graph infers from the input's shape.
INFERRED_SIZES = ("in_channels", "in_features", "num_features", "normalized_shape",
                  "embed_dim")

CLIP_GRAD_NORM = Float("clip_grad_norm", None, "clip the gradients' total norm to this; "
                       "empty: no clipping", min=0.0, min_exclusive=True, optional=True)
EPOCHS = Int("epochs", 5, "epochs of a run", min=1, max=1_000_000)
SEED = Int("seed", 0, "seed of data splits, order and initial weights", min=0, max=2**32 - 1)
STEPS_PER_EPOCH = Int("steps_per_epoch", None, "empty: one pass over the training split",
                      min=1, optional=True)
PRECISION = Choice("precision", "32", "32: float32 throughout; bf16-mixed or 16-mixed: forward "
                   "passes under autocast (16-mixed scales each group's loss)",
                   choices=("32", "bf16-mixed", "16-mixed"))
COMPILE = Bool("compile", False, "run the model through torch.compile: slower to start, faster "
               "steps on a GPU")
SYNC_BATCHNORM = Bool("sync_batchnorm", False, "several processes: batch norms use the "
                      "statistics of the global batch, not of each process's share")
TRAINING = (EPOCHS, SEED, STEPS_PER_EPOCH, PRECISION, COMPILE, SYNC_BATCHNORM)
DEVICE_PATTERN = re.compile(r"cuda:\d+\Z")


# --- messages ------------------------------------------------------------------------------

def show(value: Any) -> str:
    """A value as the user wrote it in JSON, shortened, for messages."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """'; did you mean x?' when a known name is close, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def expect(value: Any, kind: type | tuple, where: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise GraphFormatError(where, f"expected {what}, got {show(value)}")
    return value


# --- ids -----------------------------------------------------------------------------------

def identifier(value: Any, where: str, what: str) -> str:
    """A Python identifier that is not a keyword: ids become names in generated code."""
    expect(value, str, where, f"{what} id (a string)")
    if not IDENTIFIER.match(value):
        raise GraphFormatError(where, f"{show(value)} is not a valid {what} id: use letters, "
                               "digits and _, not starting with a digit")
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise GraphFormatError(where, f"{show(value)} is a Python keyword; choose another id")
    return value


def node_id(value: Any, where: str = "id") -> str:
    """A node id becomes an attribute of the compiled module: an identifier, not a keyword,
    not a name torch.nn.Module uses, not starting with __."""
    node = identifier(value, where, "node")
    if node in MODULE_ATTRIBUTES:
        raise GraphFormatError(where, f"\"{node}\" is a name torch.nn.Module uses; "
                               "choose another id")
    if node.startswith("__"):  # self.__x is renamed inside a class; __class__ is Python's
        raise GraphFormatError(where, f"\"{node}\" starts with __, which Python keeps for "
                               "its own names; choose another id")
    return node


def group_id(value: Any, where: str = "id") -> str:
    return identifier(value, where, "group")


# --- values against declarations -----------------------------------------------------------

def value(decl: Param, given: Any, where: str) -> Any:
    """One value checked by its declaration; anything a program may have set (a set, an
    object) is refused with what was expected, never let through."""
    try:
        return decl.validate(given)
    except ParamError as e:
        raise GraphFormatError(f"{where}.{e.place}" if e.place else where, e.detail) from e
    except Exception as e:  # a value no declaration foresaw
        raise GraphFormatError(where, f"expected {decl.describe()}, got "
                               f"{type(given).__name__}") from e


def settings(obj: Any, decls: tuple[Param, ...], where: str, owner: str,
             skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object of named settings checked against declarations; unknown names refused."""
    expect(obj, dict, where, "an object")
    names = [d.name for d in decls]
    clean = {}
    for key, given in obj.items():
        if key in skip:
            continue
        decl = next((d for d in decls if d.name == key), None)
        place = f"{where}.{key}" if where else str(key)
        if decl is None:
            hint = suggest(str(key), names) or (f"; it takes {', '.join(names)}" if names
                                                else "; it takes none")
            raise GraphFormatError(place, f"unknown setting of {owner}{hint}")
        clean[key] = value(decl, given, place)
    return clean


def node_params(t: NodeType, params: Any, where: str = "params") -> dict[str, Any]:
    """A node's own parameter values (not the defaults), each checked by its declaration."""
    expect(params, dict, where, "an object")
    clean = {}
    for name, given in params.items():
        place = f"{where}.{name}"
        decl = t.param(name) if isinstance(name, str) else None
        if decl is None:
            if name in INFERRED_SIZES:
                raise GraphFormatError(place, f"{name} is inferred from the input's shape; "
                                       "remove it")
            known = [p.name for p in t.params]
            hint = suggest(str(name), known) or (f"; it takes {', '.join(known)}" if known
                                                 else "; it takes none")
            raise GraphFormatError(place, f"unknown parameter of {t.id}{hint}")
        clean[name] = value(decl, given, place)
    return clean


def typed_settings(obj: Any, table: dict[str, tuple[Param, ...]], where: str,
                   what: str) -> dict[str, Any]:
    """An optimizer or LR schedule: a known `type` and the settings that type declares."""
    expect(obj, dict, where, "an object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise GraphFormatError(f"{where}.type", f"expected one of {', '.join(table)}, got "
                               f"{show(kind)}{suggest(str(kind), list(table))}")
    return {"type": kind} | settings(obj, table[kind], where, f"{what} {kind}", skip=("type",))


def optimizer(obj: Any, where: str = "optimizer") -> dict[str, Any]:
    return typed_settings(obj, OPTIMIZERS, where, "optimizer")


def lr_schedule(obj: Any, where: str = "lr_schedule") -> dict[str, Any]:
    return typed_settings(obj, LR_SCHEDULES, where, "LR schedule")


def schedule(obj: Any, where: str = "schedule") -> dict[str, Any]:
    """Every key of a group schedule, defaults filled in; `epochs` is [first, end)."""
    clean = schedules.default_dict() | settings(obj, schedules.SETTINGS, where, "a schedule",
                                                skip=("epochs",))
    epochs = obj.get("epochs", [0, None])
    try:
        first, end = epochs
        ok = (isinstance(epochs, list) and _whole(first) and (end is None or _whole(end))
              and schedules.FIRST_EPOCH.validate(first) is not None
              and (schedules.END_EPOCH.validate(end) is None or end > first))
    except (TypeError, ValueError):  # not a pair, or an end the declaration refuses
        ok = False
    if not ok:
        raise GraphFormatError(f"{where}.epochs", "expected [first, end] with 0 <= first < end "
                               f"(end null for no end), got {show(epochs)}")
    clean["epochs"] = list(epochs)
    return clean


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def clip_grad_norm(given: Any, where: str = "clip_grad_norm") -> float | None:
    return value(CLIP_GRAD_NORM, given, where)


def group_fields(fields: dict[str, Any], where: str = "") -> dict[str, Any]:
    """A group's optimizer, schedule, lr_schedule and clip_grad_norm (those present),
    normalised. `where` prefixes the places (`groups[0]`)."""
    validators = {"optimizer": optimizer, "schedule": schedule, "lr_schedule": lr_schedule,
                  "clip_grad_norm": clip_grad_norm}
    return {key: validators[key](given, f"{where}.{key}" if where else key)
            for key, given in fields.items() if key in validators}


GROUP_SETTINGS = ("optimizer", "schedule", "lr_schedule", "clip_grad_norm")


def group_settings(group: Any) -> tuple[dict[str, Any], list[GraphFormatError]]:
    """A group's settings validated each on its own: (the normalised ones, every problem)."""
    clean, problems = {}, []
    for key in GROUP_SETTINGS:
        try:
            clean |= group_fields({key: getattr(group, key)})
        except GraphFormatError as e:
            problems.append(e)
    return clean, problems


WEIGHTS_KEYS = ("path", "prefix", "match")
WEIGHTS_MATCHES = ("names", "order")


def weights(given: Any, where: str = "weights") -> dict[str, str]:
    """A node's pretrained weights key, with prefix and match filled in."""
    expect(given, dict, where, 'an object {"path": ..., "prefix": ..., "match": ...}')
    for key in given:
        if key not in WEIGHTS_KEYS:
            raise GraphFormatError(f"{where}.{key}", "unknown key of weights; it takes path, "
                                   f"prefix and match{suggest(str(key), WEIGHTS_KEYS)}")
    if "path" not in given:
        raise GraphFormatError(where, 'weights need "path" (a state_dict file)')
    path = expect(given["path"], str, f"{where}.path", "a file path")
    if not path.strip():
        raise GraphFormatError(f"{where}.path", "expected a file path, got an empty string")
    prefix = expect(given.get("prefix", ""), str, f"{where}.prefix", "a string")
    match = given.get("match", "names")
    if match not in WEIGHTS_MATCHES:
        raise GraphFormatError(f"{where}.match", f'expected "names" or "order", got {show(match)}')
    return {"path": path, "prefix": prefix, "match": match}


def device(given: Any, where: str = "device") -> str:
    expect(given, str, where, "a device name")
    if given not in DEVICES and not DEVICE_PATTERN.match(given):
        raise GraphFormatError(where, f"expected one of {', '.join(DEVICES)} or cuda:N, got "
                               f"{show(given)}")
    return given


def training_fields(fields: dict[str, Any], where: str = "training") -> dict[str, Any]:
    """Training settings (those present), normalised; unknown names refused."""
    clean = settings({k: v for k, v in fields.items() if k != "device"}, TRAINING, where,
                     "training")
    if "device" in fields:
        clean["device"] = device(fields["device"], f"{where}.device")
    return clean
