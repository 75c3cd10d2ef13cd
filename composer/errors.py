"""Typed errors. Each names the place (file path, node, port or parameter) it is about."""

from __future__ import annotations


class ComposerError(Exception):
    """Base of every error this package raises on purpose."""


class GraphFormatError(ComposerError, ValueError):
    """A graph file (or dict) not following docs/FORMAT.md; the message starts with the place."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)


class ParamError(ComposerError, ValueError):
    """A parameter value of the wrong type or out of its range. `place` is where inside the
    value the problem is (`std` of an `init` object), empty for the value as a whole."""

    def __init__(self, message: str, place: str = "") -> None:
        self.place = place
        self.detail = message
        super().__init__(f"{place}: {message}" if place else message)


class CompileError(ComposerError):
    """A graph that cannot be turned into a module; names the node. `problems` holds every
    error diagnostic the checks found, the first of which is the message."""

    def __init__(self, node: str | None, message: str, problems: list | None = None) -> None:
        self.node = node
        self.problems = problems or []
        super().__init__(f"{node}: {message}" if node else message)


class DataError(ComposerError):
    """A data source that cannot be read or does not fit the graph; names the data node (and
    the parameter to change, when it is not the path)."""

    def __init__(self, node: str | None, message: str, param: str | None = None) -> None:
        self.node = node
        self.param = param  # the parameter at fault, when it is not the file's path
        super().__init__(f"{node}: {message}" if node else message)


class TrainingError(ComposerError):
    """A run that had to stop: a NaN, an exception in a node. Names node, group and step."""

    def __init__(self, message: str, node: str | None = None, group: str | None = None,
                 step: int | None = None) -> None:
        self.node = node
        self.group = group
        self.step = step
        super().__init__(message)


class WeightsError(TrainingError):
    """A pretrained weights file that cannot be read or does not fit its node; names the node.
    The message is one line listing the first problems on both sides."""

    def __init__(self, node: str | None, message: str) -> None:
        super().__init__(message, node=node)
