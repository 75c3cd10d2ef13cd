"""TensorBoard logs of a run (`--tensorboard DIR`): its training events written as summaries
through torch.utils.tensorboard, which needs the tensorboard package. It is imported only when
asked for, so a script that is not told to log does not need it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from composer.runtime.errors import TrainingFailure

TENSORBOARD_PACKAGE = "the tensorboard package: pip install tensorboard"


class TensorBoardSink:
    """A training callback: per step each loss node's value (`loss/<node>`), each active
    group's weighted loss (`group_loss/<group>`) and learning rate (`lr/<group>`); per
    validation each loss node's mean (`val/<node>`) and accuracy (`accuracy/<node>`); preview
    images (`preview/<node.port>`). The x axis is the step, as in the application's curves.
    What is written reaches the files after each validation and at the end."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer  # a torch.utils.tensorboard.SummaryWriter

    def __call__(self, event: dict[str, Any]) -> None:
        kind, step = event["kind"], event.get("step")
        if kind == "step":
            self._scalars("loss", event["loss"], step)
            self._scalars("group_loss", event["group_loss"], step)
            self._scalars("lr", event.get("lr") or {}, step)
        elif kind == "epoch":
            self._scalars("val", event["val"], step)
            self._scalars("accuracy", event["accuracy"], step)
            self.writer.flush()
        elif kind == "preview":
            for ref, images in event["outputs"].items():
                grid = preview_images(images)
                if grid is not None:
                    self.writer.add_images(f"preview/{ref}", grid, step, dataformats="NCHW")
            self.writer.flush()
        elif kind == "end":
            self.writer.flush()

    def _scalars(self, kind: str, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{kind}/{name}", value, step)

    def close(self) -> None:
        """Writes what is left and closes the files (also after a failure)."""
        self.writer.close()


def preview_images(images: Any) -> np.ndarray | None:
    """A batch of images [B,1|3,H,W] with values in [0,1] as TensorBoard draws them: one whose
    values fall outside (a tanh output in [-1,1], normalised inputs) is stretched to [0,1]
    as a whole. None for anything else: it is not a picture."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.size == 0:
        return None
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    return images


def open_tensorboard(folder: Path, needs: str = TENSORBOARD_PACKAGE) -> TensorBoardSink:
    """A sink writing into `folder` (made if missing). Raises TrainingFailure when the
    tensorboard package is missing, saying it `needs` what to install, or when the folder
    cannot be written."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise TrainingFailure(f"--tensorboard needs {needs}") from e
    try:
        return TensorBoardSink(SummaryWriter(log_dir=str(folder)))
    except OSError as e:
        raise TrainingFailure(f"cannot write TensorBoard logs to {str(folder)!r}: "
                              f"{e.strerror or e}") from e
