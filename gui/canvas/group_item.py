"""An optimiser group as a translucent halo, in the group's colour, around its nodes.

Members that sit near one another share one rounded frame; a member dragged far away gets a
frame of its own instead of stretching the halo over unrelated nodes. The label names the group
and its optimiser, and carries a badge when the group itself has a problem.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from composer.analysis.diagnostics import Diagnostic
from composer.graph import Graph, Group
from composer.networks import SEPARATOR
from gui import theme
from gui.canvas.badge_item import BadgeItem
from gui.canvas.metrics import format_value
from gui.canvas.node_item import DETAIL_LOD
from gui.canvas.style import faded, style
from gui.editing import has_weights

MARGIN = 16.0
LABEL_H = 24.0  # room above the top members for the label
JOIN = 70.0  # frames closer than this merge into one
NEST = 8.0  # a group sharing nodes with an earlier one draws this much further out
RADIUS = 14.0
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def clusters(rects: Iterable[QRectF], join: float = JOIN) -> list[QRectF]:
    """Bounding rectangles of rects that lie within `join` of one another."""
    merged: list[QRectF] = []
    for rect in sorted(rects, key=lambda r: (r.left(), r.top())):
        merged.append(QRectF(rect))
        changed = True
        while changed:  # a grown frame may now reach an earlier one
            changed = False
            last = merged[-1]
            grown = last.adjusted(-join, -join, join, join)
            for other in merged[:-1]:
                if grown.intersects(other):
                    merged.remove(other)
                    merged[-1] = last.united(other)
                    changed = True
                    break
    return merged


def halo_nodes(graph: Graph, group: Group) -> list[str]:
    """The nodes a group's halo surrounds: its members and losses, and the parameter-free
    nodes on paths between them (the activations and sums of the network it trains), so a
    network reads as one framed block rather than a scatter of its weighted layers. A member
    inside a network instance (`backbone/layer4`) is drawn around the instance."""
    listed = [str(m).split(SEPARATOR, 1)[0] for m in [*group.members, *group.losses]]
    core = [n for n in dict.fromkeys(listed) if n in graph.nodes]
    children: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    for e in graph.edges:
        children.setdefault(e.src, []).append(e.dst)
        parents.setdefault(e.dst, []).append(e.src)

    def free(n: str) -> bool:
        known = graph.type_of(graph.nodes[n]) is not None
        return known and not has_weights(graph, graph.nodes[n]) and n not in inside

    inside = set(core)

    def reach(links: dict[str, list[str]]) -> set[str]:
        seen: set[str] = set()
        todo = list(core)
        while todo:
            for nxt in links.get(todo.pop(), ()):
                if nxt not in seen and nxt in graph.nodes and free(nxt):
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    between = reach(children) & reach(parents)
    return core + [n for n in graph.nodes if n in between]


def group_color(group: Group, index: int) -> QColor:
    color = group.ui.get("color") if isinstance(group.ui, dict) else None
    return QColor(color) if color and QColor(color).isValid() else \
        QColor(theme.GROUP_PALETTE[index % len(theme.GROUP_PALETTE)])


def _optimizer_text(group: Group) -> str:
    opt = group.optimizer or {}
    lr = opt.get("lr")
    return f"{opt.get('type', '?')} \u00b7 lr {format_value(lr)}" if lr is not None else \
        str(opt.get("type", ""))


class GroupItem(QGraphicsItem):
    """The halo of one group. It takes no clicks: a press on it starts a rubber band."""

    def __init__(self, group: Group, index: int) -> None:
        super().__init__()
        self.group_id = group.id
        self.members: list[str] = []  # what the halo surrounds (see halo_nodes)
        self.depth = 0  # how many earlier groups share nodes with this one
        self._frames: list[QRectF] = []
        self._rect = QRectF()
        self.setZValue(-10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.badge = BadgeItem(self)
        self.set_group(group, index)

    def set_group(self, group: Group, index: int) -> None:
        self.group_id = group.id
        self.color = group_color(group, index)
        self.detail = _optimizer_text(group)
        self.setToolTip(f"Group {group.id}: {self.detail}; {len(group.members)} member(s), "
                        f"{len(group.losses)} loss(es)")
        self.update()

    def set_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        self.badge.set_diagnostics(diagnostics)

    def relayout(self, member_rects: list[QRectF]) -> None:
        """Frames around the members' current rectangles (scene coordinates)."""
        side = MARGIN + NEST * self.depth
        top = MARGIN + LABEL_H * (1 + self.depth)  # nested labels stack, never collide
        padded = [r.adjusted(-side, -top, side, side) for r in member_rects]
        frames = clusters(padded)
        if frames == self._frames:
            return  # a member moved inside the halo: nothing to redraw
        self.prepareGeometryChange()
        self._frames = frames
        rect = QRectF()
        for frame in frames:
            rect = rect.united(frame)
        self._rect = rect.adjusted(-2, -2, 2, 2)
        self.setVisible(bool(frames))
        if frames:
            first = min(frames, key=lambda f: (f.top(), f.left()))
            label_w = self._label_width()
            self.badge.setPos(first.left() + 12 + label_w + 12, first.top() + LABEL_H / 2 + 1)

    def _label_width(self) -> float:
        s = style()
        return (QFontMetricsF(s.group_font).horizontalAdvance(self.group_id) + 8
                + QFontMetricsF(s.type_font).horizontalAdvance(self.detail))

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self._frames:
            return
        s = style()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setBrush(faded(self.color, 0.16 if s.dark else 0.11))
        painter.setPen(QPen(faded(self.color, 0.7), 1.6))
        for frame in self._frames:
            painter.drawRoundedRect(frame, RADIUS, RADIUS)
        first = min(self._frames, key=lambda f: (f.top(), f.left()))
        label = self.color.lighter(135) if s.dark else self.color.darker(125)
        id_width = QFontMetricsF(s.group_font).horizontalAdvance(self.group_id)
        for frame in self._frames:  # every frame says whose it is; the first says more
            x, y = frame.left() + 12, frame.top() + 3
            painter.setPen(label)
            if lod < DETAIL_LOD:  # zoomed out: the name alone, as large as the band allows
                painter.setFont(s.band_font)
                painter.drawText(QRectF(frame.left() + 10, frame.top() + 1, frame.width() - 20,
                                        LABEL_H + 2), _LEFT, self.group_id)
                continue
            painter.setFont(s.group_font)
            painter.drawText(QRectF(x, y, frame.width() - 24, LABEL_H - 4), _LEFT,
                             self.group_id)
            if frame is first:
                x += id_width + 8
                painter.setFont(s.type_font)
                painter.setPen(s.dim_text)
                painter.drawText(QRectF(x, y, max(0.0, frame.right() - 12 - x), LABEL_H - 4),
                                 _LEFT, self.detail)

    def frames(self) -> list[QRectF]:
        return list(self._frames)

