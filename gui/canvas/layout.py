"""Where nodes go when the file does not say: layers left to right, wires kept straight.

Layers are topological generations (longest path from a source); a source sits just before its
first consumer, so a label input does not wait at the far left. Within a layer each node wishes
to sit where its input wires arrive level, and a wire that skips layers reserves a narrow lane
in each layer it crosses, so it runs between nodes rather than under them. The wishes of one
layer are then reconciled without overlap by isotonic regression (pool adjacent violators):
every node moves as little as it can, up or down, and lanes hold their place harder than nodes.

A long graph (a ResNet's seventy layers in a row) would be a strip too thin to read once
fitted, so its layers are wrapped into rows, left to right and then below, as many per row as
make the whole fit a window of ASPECT best; a wire from the end of one row to the start of
the next, and a skip connection across a row's end, stay drawn as wires.
"""

from __future__ import annotations

from dataclasses import dataclass

from composer.analysis.shapes import topological_order
from composer.graph import Graph
from gui.canvas.metrics import NODE_WIDTH, node_face

COLUMN_GAP = 96.0
ROW_GAP = 40.0
LANE_H = 14.0  # the room a passing wire keeps in a layer
LANE_GAP = 10.0
LANE_WEIGHT = 20.0  # a lane hardly moves: the nodes step aside
ASPECT = 1.2  # width / height of the room a laid-out graph is made to fit (beside the minimap)
WRAP_COLUMN_GAP = 36.0  # between layers once a graph is wrapped into rows
WRAP_FROM_LAYERS = 20  # graphs of fewer layers (every sample) keep one row: wires run right
WRAP_ROW_GAP = 44.0  # between wrapped rows: room for the wires that turn back


@dataclass
class _Entry:
    key: object  # a node id, or ("lane", edge index) for a passing wire
    wish: float | None  # the top it would like
    height: float
    weight: float = 1.0
    level: float = 0.0  # the height of the wire it lines up with: the column's order

    @property
    def is_node(self) -> bool:
        return isinstance(self.key, str)


def _links(graph: Graph) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    succs: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.src in preds and e.dst in preds and e.src not in preds[e.dst]:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
    return preds, succs


def node_layers(graph: Graph) -> dict[str, int]:
    """Column of every node. Nodes on a cycle follow the acyclic part."""
    preds, succs = _links(graph)
    order = topological_order(graph)
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
    for n in reversed(order):
        if not preds[n] and succs[n]:
            layer[n] = max(0, min(layer[s] for s in succs[n]) - 1)
    end = max(layer.values(), default=-1) + 1
    for n in graph.nodes:
        if n not in layer:
            layer[n] = max((layer[p] + 1 for p in preds[n] if p in layer), default=end)
    return layer


def _settle(entries: list[_Entry]) -> dict[object, float]:
    """Tops for entries in this order, none overlapping, as near their wishes as can be."""
    offsets, c = [], 0.0
    for i, entry in enumerate(entries):
        offsets.append(c)
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        gap = ROW_GAP if entry.is_node and nxt is not None and nxt.is_node else LANE_GAP
        c += entry.height + gap
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for entry, offset in zip(entries, offsets, strict=True):
        blocks.append([(entry.wish - offset) * entry.weight, entry.weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w, n = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w
            blocks[-1][2] += n
    tops, i = {}, 0
    for s, w, n in blocks:
        for _ in range(int(n)):
            tops[entries[i].key] = s / w + offsets[i]
            i += 1
    return tops


class _Layout:
    """One run of the layered layout over a graph."""

    def __init__(self, graph: Graph, per_row: int | None = None) -> None:
        """`per_row`: the layers wrap into rows of this many; a wire between rows then
        neither lines nodes up nor keeps a lane, so each row lies straight."""
        self.graph = graph
        self.preds, self.succs = _links(graph)
        self.layer = node_layers(graph)
        row = (lambda n: self.layer[n] // per_row) if per_row else (lambda n: 0)
        faces = {n: node_face(graph, node) for n, node in graph.nodes.items()}
        self.height = {n: f.height for n, f in faces.items()}
        self.in_y = {n: {p.name: f.port_y(i) for i, p in enumerate(f.inputs)}
                     for n, f in faces.items()}
        self.out_y = {n: {p.name: f.port_y(i) for i, p in enumerate(f.outputs)}
                      for n, f in faces.items()}
        self.edges = [e for e in graph.edges if e.src in self.layer and e.dst in self.layer
                      and self.layer[e.dst] > self.layer[e.src] and row(e.src) == row(e.dst)]
        self.incoming: dict[str, list] = {}
        for e in self.edges:
            self.incoming.setdefault(e.dst, []).append(e)
        self.columns: dict[int, list[str]] = {}
        for n in graph.nodes:  # file order: ties keep the author's order
            self.columns.setdefault(self.layer[n], []).append(n)
        self.tops: dict[str, float] = {}

    def _port_level(self, node: str, port: str, table: dict) -> float:
        return self.tops[node] + table[node].get(port, self.height[node] / 2)

    def _wish(self, n: str, fixed: dict[str, float]) -> tuple[float, float] | None:
        """(top, level of the wires it lines up with). A wire that crossed several layers in
        a lane weighs by the square of the layers it crossed: it is the one that would slant
        across the most nodes."""
        if n in fixed:
            return fixed[n], fixed[n] + self.height[n] / 2
        total = weight = level = 0.0
        for e in self.incoming.get(n, ()):
            if e.src in self.tops:
                span = (self.layer[n] - self.layer[e.src]) ** 2
                at = self._port_level(e.src, e.src_port, self.out_y)
                total += span * (at - self.in_y[n].get(e.dst_port, self.height[n] / 2))
                level += span * at
                weight += span
        return (total / weight, level / weight) if weight else None

    def _column(self, index: int, fixed: dict[str, float]) -> None:
        entries, loose = [], []
        for n in self.columns[index]:
            wish = self._wish(n, fixed)
            if wish is None:
                loose.append(_Entry(n, None, self.height[n]))
            else:
                entries.append(_Entry(n, wish[0], self.height[n], level=wish[1]))
        for i, e in enumerate(self.edges):
            if self.layer[e.src] < index < self.layer[e.dst] and e.src in self.tops:
                level = self._port_level(e.src, e.src_port, self.out_y)
                entries.append(_Entry(("lane", i), level - LANE_H / 2, LANE_H, LANE_WEIGHT,
                                      level))
        entries.sort(key=lambda x: (x.level, not x.is_node))  # a node goes above a lane
        tops = _settle(entries) if entries else {}
        bottom = max((tops[x.key] + x.height for x in entries), default=-ROW_GAP)
        for x in loose:  # nothing to line up with: below the rest
            tops[x.key] = bottom + ROW_GAP
            bottom += x.height + ROW_GAP
        self.tops.update({k: v for k, v in tops.items() if isinstance(k, str)})

    def sweep(self, fixed: dict[str, float]) -> None:
        self.tops = {}
        for index in sorted(self.columns):
            self._column(index, fixed)

    def source_wishes(self) -> dict[str, float]:
        """Tops that put each source level with the next layer's inputs it feeds (its longer
        wires run in lanes that follow it)."""
        fixed = {}
        for n in self.graph.nodes:
            if self.preds[n] or not self.succs[n]:
                continue
            out = [e for e in self.edges if e.src == n]
            near = [e for e in out if self.layer[e.dst] == self.layer[n] + 1] or out
            wishes = [self.tops[e.dst] + self.in_y[e.dst].get(e.dst_port, 0.0)
                      - self.out_y[n].get(e.src_port, 0.0) for e in near]
            if wishes:
                fixed[n] = sum(wishes) / len(wishes)
        return fixed


def layout_positions(graph: Graph, node_ids: list[str] | None = None) -> dict[str, tuple]:
    """Top-left positions for `node_ids` (default: all) from a layered layout of the graph,
    its layers wrapped into rows when it is too long to read in one."""
    wanted = list(graph.nodes) if node_ids is None else node_ids
    per_row, gap, run = _wrapped(graph)
    starts = _row_tops(run, per_row)
    out = {}
    for n in wanted:
        row, column = divmod(run.layer[n], per_row)
        out[n] = (column * (NODE_WIDTH + gap), round(starts[row] + run.tops[n], 1))
    return out


def _row_extents(run: _Layout, per_row: int) -> list[tuple[float, float]]:
    """(highest top, lowest bottom) of the nodes of each row of `per_row` layers."""
    rows: dict[int, tuple[float, float]] = {}
    for n, top in run.tops.items():
        row = run.layer[n] // per_row
        low, high = rows.get(row, (top, top + run.height[n]))
        rows[row] = (min(low, top), max(high, top + run.height[n]))
    return [rows.get(r, (0.0, 0.0)) for r in range(max(rows, default=0) + 1)]


def _row_tops(run: _Layout, per_row: int) -> list[float]:
    """For each row, what moves its nodes' tops so that the row starts below the one above."""
    shifts, y = [], 0.0
    for low, high in _row_extents(run, per_row):
        shifts.append(y - low)
        y += high - low + WRAP_ROW_GAP
    return shifts


def _laid(graph: Graph, per_row: int | None) -> _Layout:
    run = _Layout(graph, per_row)
    run.sweep({})
    run.sweep(run.source_wishes())
    return run


def _wrapped(graph: Graph) -> tuple[int, float, _Layout]:
    """(layers per row, gap between layers, the layout): all in one row unless wrapping
    lets the graph fit a canvas of ASPECT clearly larger."""
    whole = _laid(graph, None)
    count = max(whole.layer.values(), default=0) + 1
    best = (count, COLUMN_GAP, whole)
    best_scale = _scale(whole, count, COLUMN_GAP)
    if count < WRAP_FROM_LAYERS:
        return best
    for per_row in range(count - 1, 0, -1):
        if per_row * (NODE_WIDTH + WRAP_COLUMN_GAP) < ASPECT * NODE_WIDTH * 2:
            break  # narrower rows than this only make the graph taller
        run = _laid(graph, per_row)
        scale = _scale(run, per_row, WRAP_COLUMN_GAP)
        if scale > best_scale * 1.05:  # wrapping must win clearly: a short graph stays put
            best, best_scale = (per_row, WRAP_COLUMN_GAP, run), scale
    return best


def _scale(run: _Layout, per_row: int, gap: float) -> float:
    """How large the laid-out graph shows on a canvas of ASPECT (larger is better)."""
    extents = _row_extents(run, per_row)
    width = per_row * (NODE_WIDTH + gap) - gap
    height = sum(h - low for low, h in extents) + WRAP_ROW_GAP * (len(extents) - 1)
    return min(ASPECT / width, 1.0 / max(height, 1.0))


def missing_positions(graph: Graph) -> dict[str, tuple]:
    """Positions for the nodes whose `ui` has none: where the layout of the whole graph puts
    them, so they stay put while their neighbours get placed one by one; only when that spot
    is taken by placed nodes do they all go below those."""
    missing = [n for n, node in graph.nodes.items() if "pos" not in node.ui]
    if not missing:
        return {}
    laid = layout_positions(graph, missing)
    placed = [n for n in graph.nodes if n not in laid]
    if not placed:
        return laid

    def rect(n: str, x: float, y: float) -> tuple[float, float, float, float]:
        return x, y, x + NODE_WIDTH, y + node_face(graph, graph.nodes[n]).height

    taken = [rect(n, *graph.nodes[n].ui["pos"]) for n in placed]
    wanted = [rect(n, *laid[n]) for n in missing]
    if not any(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
               for a in wanted for b in taken):
        return laid
    bottom = max(r[3] for r in taken)
    left = min(r[0] for r in taken)
    shift_y = bottom + 2 * ROW_GAP - min(y for _, y in laid.values())
    shift_x = left - min(x for x, _ in laid.values())
    return {n: (x + shift_x, y + shift_y) for n, (x, y) in laid.items()}
