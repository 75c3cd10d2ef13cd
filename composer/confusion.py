"""Where a classifier goes wrong: for every cross-entropy loss, the confusion matrix of the
trained model on the validation split, and the rows it got wrong most confidently, with the
images they came from.

The batches are those `composer.evaluate` (and the validation after each epoch) runs, in eval
mode without gradients, so the matrix's diagonal sums to the accuracy the run reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from composer.graph import Graph
from composer.train import validation_data

WORST = 12  # misclassified rows kept per loss


@dataclass
class Mistake:
    """One validation row the model got wrong."""

    row: int  # its place among the rows validation runs through, from 0
    true: int
    predicted: int
    probability: float  # the probability the model gave the predicted (wrong) class
    image: np.ndarray | None  # [C,H,W] float32, the picture it came from (None: not an image)


@dataclass
class Confusion:
    """The confusion of one cross-entropy loss node."""

    loss: str
    classes: list[str]  # what each class id stands for (its id when nothing says)
    counts: np.ndarray  # [K,K] int64: rows the true class, columns the predicted one
    mistakes: list[Mistake] = field(default_factory=list)  # most confident first
    image: str | None = None  # the data port ("node.port") whose rows the images are

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float | None:
        return float(np.trace(self.counts)) / self.total if self.total else None

    def recall(self) -> list[float | None]:
        """Per true class: the share of its rows predicted as it (None: no rows)."""
        return _shares(np.diag(self.counts), self.counts.sum(axis=1))

    def precision(self) -> list[float | None]:
        """Per predicted class: the share of its predictions that were right (None: none)."""
        return _shares(np.diag(self.counts), self.counts.sum(axis=0))


def _shares(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    return [float(p) / w if w else None for p, w in zip(part, whole, strict=True)]


class _Tally:
    """Counts and the worst mistakes of one loss, batch by batch."""

    def __init__(self, worst: int) -> None:
        self.worst = worst
        self.classes = 0  # K, known from the first batch's logits
        self.counts: torch.Tensor | None = None
        self.mistakes: list[Mistake] = []
        self.rows = 0

    def add(self, logits: torch.Tensor, labels: torch.Tensor,
            images: torch.Tensor | None) -> None:
        k = self.classes = logits.shape[1]
        if self.counts is None:
            self.counts = torch.zeros(k * k, dtype=torch.int64)
        probabilities, predicted = torch.softmax(logits.float(), 1).max(1)
        labels = labels.reshape(-1).long()
        known = (labels >= 0) & (labels < k)  # an ignored label (-100) is in no class
        pairs = labels[known] * k + predicted[known]
        self.counts += torch.bincount(pairs.cpu(), minlength=k * k)
        wrong = torch.nonzero(known & (predicted != labels)).flatten()
        top = wrong[probabilities[wrong].argsort(descending=True, stable=True)[:self.worst]]
        for i in top.tolist():
            image = images[i].detach().float().cpu().numpy() if images is not None else None
            self.mistakes.append(Mistake(self.rows + i, int(labels[i]), int(predicted[i]),
                                         float(probabilities[i]), image))
        self.mistakes.sort(key=lambda m: (-m.probability, m.row))
        del self.mistakes[self.worst:]
        self.rows += len(labels)


def confusion_matrices(graph: Graph, model: Any, *, seed: int | None = None,
                       worst: int = WORST) -> list[Confusion]:
    """One Confusion per cross-entropy loss node with validation data, in file order.

    `model` is one `compile(graph)` built (or one `train` returned), run on the device its
    parameters are on; the split is fixed by `seed` (default: the graph's). Raises DataError
    or TrainingError (naming the node whose forward pass failed).
    """
    if not any(node.type == "loss.cross_entropy" for node in graph.nodes.values()):
        return []  # nothing to count: no program generated, no data read (a GAN's run ends)
    found: dict[str, Confusion] = {}
    was_training = model.training
    with validation_data(graph, model, seed) as (program, data):
        spec = program.PROGRAM
        model.eval()
        try:
            with torch.no_grad():
                for nodes, losses in program.validation_sets(model, spec):
                    pairs = {loss: spec.accuracy[loss] for loss in losses
                             if loss in spec.accuracy}
                    if pairs:
                        found |= _confusion_of_set(program, model, data, nodes, pairs, worst)
        finally:
            model.train(was_training)
    return [found[loss] for loss in spec.losses if loss in found]


def _confusion_of_set(program: Any, model: Any, data: dict[str, Any], nodes: tuple[str, ...],
                      pairs: dict[str, tuple[str, str]], worst: int) -> dict[str, Confusion]:
    """The losses of one validation set (the data nodes they read), in one pass."""
    outputs = tuple(dict.fromkeys(ref for pair in pairs.values() for ref in pair))
    tallies = {loss: _Tally(worst) for loss in pairs}
    images: dict[str, str | None] = {}
    for batch in program.val_batches(data, nodes):
        if not images:
            images = {loss: image_port(model, pred, batch) for loss, (pred, _) in pairs.items()}
        outs = program.val_forward(model, batch, outputs)
        for loss, (pred, target) in pairs.items():
            if not outs[target].is_floating_point():  # class probabilities: no single class
                port = images[loss]
                tallies[loss].add(outs[pred], outs[target], batch[port] if port else None)
    found = {}
    for loss, tally in tallies.items():
        if tally.counts is None:
            continue
        k = tally.classes
        target = pairs[loss][1].partition(".")[0]
        found[loss] = Confusion(loss, class_names(data.get(target), k),
                                tally.counts.reshape(k, k).numpy(), tally.mistakes,
                                images[loss])
    return found


def image_port(model: Any, logits: str, batch: dict[str, torch.Tensor]) -> str | None:
    """The data port feeding `logits` whose rows are pictures ([B,1|3,H,W] floats), if any:
    the first in name order."""
    for ref in sorted(model.needed.plan((logits,))[1]):
        t = batch.get(ref)
        if t is not None and t.is_floating_point() and t.dim() == 4 and t.shape[1] in (1, 3):
            return ref
    return None


def class_names(source: Any, k: int) -> list[str]:
    """What each of k class ids stands for: a table's target values, an image folder's
    sub-folders; the id itself where the data does not say."""
    names = getattr(source, "classes", None)
    if names is None:
        names = getattr(getattr(source, "rows", None), "class_names", None)
    names = [str(n) for n in names or []][:k]
    return names + [str(i) for i in range(len(names), k)]
