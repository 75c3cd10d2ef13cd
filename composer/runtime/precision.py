"""Mixed precision and torch.compile: how a run computes its forward passes.

"bf16-mixed" and "16-mixed" run each forward under autocast (matrix products and convolutions
in the lower precision, reductions and losses in float32); weights, gradients and optimiser
state stay float32. "16-mixed" scales each group's loss by a gradient scaler of its own, so
small float16 gradients do not flush to zero; the scaler skips an update whose gradients
overflowed and lowers its scale.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from composer.runtime.errors import PerformanceWarning, TrainingFailure

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
LOW_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuses, in one line naming the setting, a precision this device cannot run.

    torch runs both autocast types on the CPU (float16 through its slower reference kernels,
    with a gradient scaler that works there too), so the CPU refuses neither; a CUDA device
    without bfloat16 arithmetic (before compute capability 8.0) refuses bf16-mixed.
    """
    if precision not in PRECISIONS:
        raise TrainingFailure(f"training.precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {precision!r}")
    if precision == "bf16-mixed" and device.type == "cuda" \
            and not torch.cuda.is_bf16_supported(including_emulation=False):
        raise TrainingFailure("training.precision bf16-mixed needs a GPU with bfloat16 "
                              f"arithmetic, which {torch.cuda.get_device_name(device)} lacks: "
                              "use 16-mixed or 32")
    if precision == "16-mixed" and device.type == "cpu":
        warnings.warn(PerformanceWarning("training.precision 16-mixed on the CPU: float16 "
                                         "steps were measured 10x slower than float32 there; "
                                         "bf16-mixed is the fast choice on a CPU"), stacklevel=2)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: autocast to the run's lower precision, or nothing."""
    dtype = LOW_DTYPES.get(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A new gradient scaler for one group under "16-mixed"; None otherwise."""
    if precision != "16-mixed":
        return None
    return torch.amp.GradScaler(device.type)


def compile_line(seconds: float) -> str:
    """What a compiled run's log says after its first step, so that step's time is not
    mistaken for a step's."""
    return f"torch.compile: the first step took {seconds:.1f} s, compiling included"


def compiled(model: nn.Module, device: torch.device, reuses: bool) -> Callable[..., Any]:
    """The model's forward through torch.compile. Compiling happens at the first call of each
    distinct request (a group's outputs), not here; the state_dict keeps its names.

    The whole forward becomes one graph per request, and the module stays eager for
    validation. When a group reuses an output that an earlier group computed (`reuses`), that
    cannot be: one compiled graph is one autograd node, whose saved tensors the first group's
    backward frees, so the second group could not backward through the output it took. Then
    each node's module (a network instance, a layer) is compiled on its own instead, in place,
    and forward's own steps between them stay eager.
    """
    if device.type == "cpu":
        warnings.warn(PerformanceWarning("training.compile on the CPU: compiling takes up to a "
                                         "minute and compiled steps were measured no faster "
                                         "than eager ones there (0.6x-1.0x); it pays off on a "
                                         "GPU"), stacklevel=2)
    if not reuses:
        return torch.compile(model)
    for module in model.children():  # a tied module once
        module.compile()
    return model


class CompileFailure(Exception):
    """torch.compile failed on a forward that runs eagerly."""


def eager_error(model: nn.Module, batch: dict[str, torch.Tensor], outputs: tuple[str, ...],
                precision: str, device: torch.device, error: Exception) -> Exception:
    """The exception the eager forward raises on what failed compiled, whose traceback
    leads to the node; a CompileFailure when the eager forward runs."""
    try:
        with torch.no_grad(), autocast(precision, device):
            model(batch, outputs)
    except Exception as eager:
        return eager
    lines = str(error).strip().splitlines()
    return CompileFailure(f"torch.compile failed ({type(error).__name__}: "
                          f"{lines[0] if lines else ''}); training.compile false runs eagerly")
