"""The runtime's own errors. The application turns them into composer.DataError and
composer.TrainingError; an exported script prints them and exits with status 1."""

from __future__ import annotations


class DataSourceError(Exception):
    """A data source that cannot be read or does not fit; names the data node when known, and
    the parameter to change when it is not the path (a table's missing column)."""

    def __init__(self, node: str | None, message: str, param: str | None = None) -> None:
        self.node = node
        self.detail = message
        self.param = param
        super().__init__(f"{node}: {message}" if node else message)


class TrainingFailure(Exception):
    """A run that had to stop (a NaN, an exception in a node); names node, group and step."""

    def __init__(self, message: str, node: str | None = None, group: str | None = None,
                 step: int | None = None) -> None:
        self.node = node
        self.group = group
        self.step = step
        super().__init__(message)


class DataWarning(UserWarning):
    """A data problem that does not stop the run: a batch larger than its split. Names the
    data node."""


class PerformanceWarning(UserWarning):
    """A setting that works but makes this run slower, not faster, on its device: torch.compile
    or float16 on a CPU. Names the setting and what to use instead."""
