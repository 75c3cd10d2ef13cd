"""Model Composer's core: graphs of networks that train together. No Qt here."""

from composer.analysis.checks import check
from composer.errors import (
    CompileError,
    ComposerError,
    DataError,
    GraphFormatError,
    TrainingError,
    WeightsError,
)
from composer.fileformat import dumps, from_dict, load, loads, save
from composer.generate.compile import compile
from composer.generate.program import export_python
from composer.graph import Edge, Graph, Group, Node, Training
from composer.train import RunResult, evaluate, preview, train
from composer.weights import GraphWeights, match_graph_weights, match_weights

__all__ = [
    "CompileError", "ComposerError", "DataError", "Edge", "Graph", "GraphFormatError", "Group",
    "Node", "Training", "TrainingError", "check", "dumps", "from_dict", "load", "loads", "save",
    "compile", "export_python", "train", "RunResult", "evaluate", "preview", "WeightsError",
    "match_weights", "match_graph_weights", "GraphWeights",
]
