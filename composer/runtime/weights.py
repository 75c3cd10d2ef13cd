"""Pretrained weights from a PyTorch state_dict file, matched to a node's module by names or by
order (docs/FORMAT.md, "Weights"). Exported scripts carry this file, so it needs torch only."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from composer.runtime.errors import TrainingFailure

SHOWN_PROBLEMS = 3  # problems a one-line message lists before "and N more"


def read_state_dict(path: Path, node: str | None = None) -> dict[str, torch.Tensor]:
    """A state_dict file's tensors in file order, read without executing anything. A training
    checkpoint holding one under "state_dict" or "model" gives that one."""
    where = f"{node}: " if node else ""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise TrainingFailure(f"{where}weights file {str(path)!r} does not exist", node) from e
    except pickle.UnpicklingError as e:
        if "Unsupported global" not in str(e):  # not pickled by torch.save at all
            raise TrainingFailure(f"{where}cannot read weights file {str(path)!r}: not a file "
                                  "torch.save wrote", node) from e
        raise TrainingFailure(f"{where}{str(path)!r} holds Python objects besides tensors; "
                              "they are not loaded, as that could run code", node) from e
    except Exception as e:
        raise TrainingFailure(f"{where}cannot read weights file {str(path)!r}: {e}", node) from e
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise TrainingFailure(f"{where}{str(path)!r} holds no state_dict (tensors by name)", node)
    return state


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]" if shape is not None else ""


def model_name(node: str, key: str) -> str:
    """A node's tensor as the user knows it: `layer1_0/conv1.weight` (a path into instances,
    then the tensor's own name), `fc.weight`."""
    parts = [node, *key.split(".")]
    return "/".join(parts[:-1]) + "." + parts[-1]


@dataclass(frozen=True)
class WeightsRow:
    """One line of a match: a model tensor and the file tensor it takes (either may be None)."""

    key: str | None  # the tensor's name in the node's module state_dict
    model: str | None  # the same, as shown (`layer1_0/conv1.weight`)
    model_shape: tuple[int, ...] | None
    file: str | None  # the file's full tensor name
    file_shape: tuple[int, ...] | None

    @property
    def status(self) -> str:
        if self.file is None:
            return "not in the file"
        if self.model is None:
            return "no place in the model"
        return "ok" if self.model_shape == self.file_shape else "shapes differ"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def problem(self) -> str:
        left = f"{self.model} {shape_text(self.model_shape)}" if self.model else "nothing"
        right = f"{self.file} {shape_text(self.file_shape)}" if self.file else "nothing"
        return f"{left} <- {right}: {self.status}"


@dataclass
class WeightsMatch:
    """How a file's tensors (those under `prefix`) fit one node's module."""

    node: str
    path: str
    prefix: str
    match: str
    rows: list[WeightsRow] = field(default_factory=list)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)  # the file's

    @property
    def problems(self) -> list[WeightsRow]:
        return [r for r in self.rows if not r.ok]

    @property
    def matched(self) -> list[WeightsRow]:
        return [r for r in self.rows if r.ok]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problems

    def message(self) -> str:
        """One line naming the first problems on both sides, with how many there are."""
        bad = self.problems
        prefix = f" (prefix {self.prefix!r})" if self.prefix else ""
        head = f"{self.node}: weights {Path(self.path).name}{prefix} do not fit"
        if not self.rows:
            return f"{head}: the file has no tensors under this prefix and the node none"
        listed = "; ".join(r.problem() for r in bad[:SHOWN_PROBLEMS])
        more = f"; and {len(bad) - SHOWN_PROBLEMS} more" if len(bad) > SHOWN_PROBLEMS else ""
        return f"{head} ({len(bad)} problem{'s' * (len(bad) != 1)}): {listed}{more}"

    def state_dict(self) -> dict[str, torch.Tensor]:
        """What `load_state_dict` of the node's module takes (when `ok`)."""
        return {r.key: self.tensors[r.file] for r in self.matched}


def fits_name(key: str, name: str) -> bool:
    """Whether a file's tensor name spells a module key: a dot may stand for `_` (and a path
    into instances is dots on both sides)."""
    return len(key) == len(name) and all(
        a == b or (a == "_" and b == ".") for a, b in zip(key, name, strict=True))


def match_tensors(node: str, module: nn.Module, tensors: dict[str, torch.Tensor], path: str,
                  prefix: str = "", match: str = "names") -> WeightsMatch:
    """The rows of one node's match: every module tensor, then the file's tensors under
    `prefix` that found no place. By names, a name written exactly wins over one whose dots
    stand for `_`; by order, the i-th tensor under the prefix goes to the module's i-th."""
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    given = {n[len(prefix):]: n for n in tensors if n.startswith(prefix)}
    placed: dict[str, str] = {}  # module key -> file name
    if match == "order":
        placed = dict(zip(own, given.values(), strict=False))
    else:
        for short, name in given.items():
            key = short if short in own else next((k for k in own if fits_name(k, short)), None)
            if key is not None and key not in placed:
                placed[key] = name
    rows = [WeightsRow(k, model_name(node, k), shape, placed.get(k),
                       tuple(tensors[placed[k]].shape) if k in placed else None)
            for k, shape in own.items()]
    used = set(placed.values())
    rows += [WeightsRow(None, None, None, n, tuple(tensors[n].shape))
             for n in given.values() if n not in used]
    return WeightsMatch(node, str(path), prefix, match, rows, tensors)


def load_weights(weights: Any, model: nn.Module, base: Path) -> None:
    """Loads each (node, file, prefix, match) of `weights` into the node's module,
    refusing with one line whatever does not fit. Paths are relative to `base`."""
    files: dict[Path, dict[str, torch.Tensor]] = {}
    for node, file, prefix, match in weights:
        path = Path(base) / file
        if path not in files:
            files[path] = read_state_dict(path, node)
        module = model.get_submodule(node)
        found = match_tensors(node, module, files[path], str(path), prefix, match)
        if not found.ok:
            raise TrainingFailure(found.message(), node)
        with torch.no_grad():
            module.load_state_dict(found.state_dict())
