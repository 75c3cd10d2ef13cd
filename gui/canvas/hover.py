"""Hover highlighting shared by nodes, ports and wires."""

from __future__ import annotations


class HoverHighlight:
    """Mixed into a QGraphicsItem ahead of it: keeps `_hovered` and repaints on change."""

    _hovered = False

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = False
        self.update()
