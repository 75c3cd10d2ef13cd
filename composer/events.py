"""A tiny observer so the GUI can follow the core without the core knowing about Qt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[..., None]


class Events:
    """Subscribers receive `(name, **payload)` for every emitted event, in subscription order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def sub(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsub(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def emit(self, name: str, **payload: Any) -> None:
        for listener in list(self._listeners):
            listener(name, **payload)
