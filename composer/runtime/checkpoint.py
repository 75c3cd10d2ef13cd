"""Checkpoints and the metrics file: what a run leaves behind, and how it picks up again."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from composer.runtime.errors import TrainingFailure

CHECKPOINT_FORMAT = "composer-checkpoint"


def output_folder(path: Path | None) -> Path | None:
    """The folder checkpoints go to, created now: a run learns it cannot write there before
    it starts, not after its first epoch."""
    if path is None:
        return None
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainingFailure(f"cannot write checkpoints to {str(path)!r}: "
                              f"{e.strerror or e}") from e
    return path


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Writes atomically (a temporary file, then a rename), so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": CHECKPOINT_FORMAT, "version": 1, **state}, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch reports a failed write as a RuntimeError
        tmp.unlink(missing_ok=True)
        raise TrainingFailure(f"cannot write checkpoint {str(path)!r}: {e}") from e
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's contents, read without executing anything (weights_only)."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise TrainingFailure(f"checkpoint {str(path)!r} does not exist") from e
    except pickle.UnpicklingError as e:
        raise TrainingFailure(f"{str(path)!r} holds Python objects besides weights and plain "
                              "data; they are not loaded, as that could run code") from e
    except Exception as e:
        raise TrainingFailure(f"cannot read checkpoint {str(path)!r}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingFailure(f"{str(path)!r} is not a training checkpoint")
    return state


def rng_state() -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class MetricsWriter:
    """One JSON object a line: a record per step and one per validation."""

    def __init__(self, path: Path | None) -> None:
        self.file = None
        if path is not None:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self.file = open(path, "w", encoding="utf-8")
            except OSError as e:
                raise TrainingFailure(f"cannot write metrics to {str(path)!r}: "
                                      f"{e.strerror or e}") from e

    def write(self, record: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
