"""One problem found in a graph, named by node (and port or parameter)."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
HINT = "hint"


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error", "warning" or "hint"
    node: str | None  # node id, or a group id for group problems, None for the whole graph
    port: str | None
    message: str
    param: str | None = None
    code: str | None = None  # a stable name for a kind of problem, for tools that group them

    UNREACHED = "reaches_no_loss"  # a node whose output never reaches a loss

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        place = self.node or "graph"
        if self.port:
            place += f".{self.port}"
        elif self.param:
            place += f".{self.param}"
        return f"{self.severity.upper()} {place}: {self.message}"
