"""Model Composer's core: graphs of networks that train together. No Qt here."""

from composer.checks import check
from composer.compile import compile
from composer.errors import (
    CompileError,
    ComposerError,
    DataError,
    GraphFormatError,
    TrainingError,
)
from composer.fileformat import dumps, from_dict, load, loads, save
from composer.graph import Edge, Graph, Group, Node, Training
from composer.program import export_python
from composer.train import RunResult, evaluate, train

__all__ = [
    "CompileError", "ComposerError", "DataError", "Edge", "Graph", "GraphFormatError", "Group",
    "Node", "Training", "TrainingError", "check", "dumps", "from_dict", "load", "loads", "save",
    "compile", "export_python", "train", "RunResult", "evaluate",
]
