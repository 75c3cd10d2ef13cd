"""The open graph: its file, dirty state, undo stack and latest analysis.

Every edit is one undoable step built from gui.commands. Views redraw from the graph's events
and from the signals here; the Document never holds a second copy of the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from composer import catalogue, fileformat
from composer.analysis.diagnostics import Diagnostic
from composer.errors import GraphFormatError, ParamError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Group, Node
from gui import analysis, commands, editing, uistate
from gui.theme import GROUP_PALETTE

log = logging.getLogger(__name__)

READ_ONLY_MESSAGE = "Training: the graph is read-only"
DUPLICATE_GAP = 48.0  # between the originals' lowest edge and their copies


class Document(QObject):
    """What the canvas and the panels edit. Each public edit method is one undo step."""

    graph_replaced = Signal()
    analysed = Signal()
    dirty_changed = Signal(bool)
    path_changed = Signal(object)
    read_only_changed = Signal(bool)
    select_requested = Signal(list)
    message = Signal(str)
    _warmed = Signal(int, object)  # from the warm-up thread: (version, (shapes, diagnostics))

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = Graph()
        self.path: Path | None = None
        self.read_only = False
        self.shapes = None  # composer.analysis.shapes.Shapes once analysed
        self.diagnostics: list[Diagnostic] = []
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._analyse_when_idle)
        self._version = 0  # counts edits, so a result can tell whether it is still current
        self._warm_up: threading.Thread | None = None
        self._warmed.connect(self._on_warmed)
        self.graph.events.sub(self._on_graph_event)

    # --- state ---------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        """The file name, or the graph's name while it has never been saved."""
        return self.path.name if self.path else self.graph.name

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    def set_read_only(self, read_only: bool) -> None:
        if read_only != self.read_only:
            self.read_only = read_only
            self.read_only_changed.emit(read_only)

    def _editable(self) -> bool:
        if self.read_only:
            self.message.emit(READ_ONLY_MESSAGE)
        return not self.read_only

    # --- files ---------------------------------------------------------------------------
    def replace_graph(self, graph: Graph, path: Path | None = None) -> None:
        """Shows another graph (new/open): views rebuild, undo history starts afresh.
        Positions and colours the canvas cannot draw are dropped first, and said so."""
        dropped = uistate.drop_unusable(graph)
        self.graph.events.unsub(self._on_graph_event)
        self.graph = graph
        self.graph.events.sub(self._on_graph_event)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._set_path(path)
        self.dirty_changed.emit(False)
        self.graph_replaced.emit()
        self.schedule_analysis()
        if dropped:
            self.message.emit(f"ignored unusable display settings: {', '.join(dropped[:4])}"
                              + (f" and {len(dropped) - 4} more" if len(dropped) > 4 else ""))

    def new(self) -> None:
        self.replace_graph(Graph())

    def open(self, path: str | Path) -> None:
        """Loads a file. Raises GraphFormatError (naming the place) and changes nothing then."""
        path = Path(path)
        self.replace_graph(fileformat.load(path), path.resolve())

    def save(self, path: str | Path | None = None) -> Path:
        """Writes the graph (atomically) to `path` or the current file and marks it clean."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("the graph has no file yet: choose where to save it")
        fileformat.save(self.graph, target)
        self.graph.base_dir = target.resolve().parent
        self.undo_stack.setClean()
        self._set_path(target.resolve())
        return target

    def _set_path(self, path: Path | None) -> None:
        if path != self.path:
            self.path = path
            self.path_changed.emit(path)

    # --- analysis ------------------------------------------------------------------------
    def _on_graph_event(self, name: str, **payload: Any) -> None:
        self.schedule_analysis()

    def schedule_analysis(self) -> None:
        """Coalesces the events of one gesture into one analysis, run from the event loop."""
        self._version += 1
        self._timer.start()

    def _analyse_when_idle(self) -> None:
        if self._warm_up is None:  # else the warm-up's end brings the analysis up to date
            self.analyse_now()

    def analyse_now(self) -> None:
        """Infers shapes and checks the graph now; emits `analysed`."""
        self._timer.stop()
        if self._warm_up is not None:
            self._warm_up.join()  # one inference at a time: its caches are not shared
        self.shapes, self.diagnostics = analysis.analyse(self.graph)
        self.analysed.emit()

    def warm_up(self) -> None:
        """Runs the first analysis (which loads the checks and networkx, a few tenths of a
        second; no torch) on a thread, on a copy of the graph, so the window answers from the
        moment it shows."""
        try:
            graph = self.graph.copy()
        except ValueError:  # a graph the file format refuses: analyse it on the GUI thread
            graph = None
        version = self._version

        def run() -> None:
            result = None
            try:
                result = analysis.analyse(graph) if graph is not None else None
            finally:  # whatever happened, the GUI thread takes over the analysis
                self._warmed.emit(version, result)

        self._warm_up = threading.Thread(target=run, name="analysis-warm-up", daemon=True)
        self._warm_up.start()

    def _on_warmed(self, version: int, result) -> None:
        self._warm_up = None
        if result is not None and version == self._version and not self._timer.isActive():
            self.shapes, self.diagnostics = result
            self.analysed.emit()
        else:
            self.analyse_now()

    def node_diagnostics(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node == node_id]

    # --- edits ---------------------------------------------------------------------------
    def _push(self, text: str, steps: Iterable[QUndoCommand]) -> None:
        """Pushes commands as one undo step. `steps` may be a generator, so that a command
        can be built from the state the previous ones left; nothing is pushed when empty."""
        steps = iter(steps)
        first = next(steps, None)
        if first is None:
            return
        self.undo_stack.beginMacro(text)
        try:
            self.undo_stack.push(first)
            for command in steps:
                self.undo_stack.push(command)
        finally:
            self.undo_stack.endMacro()

    def add_node(self, type_id: str, pos: tuple[float, float],
                 params: dict | None = None) -> str | None:
        if not self._editable():
            return None
        node_type = catalogue.get(type_id)
        if node_type is None:
            raise KeyError(f"unknown node type {type_id!r}")
        clean = {}
        for name, value in (params or {}).items():
            clean[name] = editing.validated(node_type, name, value)
        node_id = self.graph.unique_id(editing.id_stem(node_type.id))
        node = Node(node_id, node_type.id, clean, ui={"pos": [round(pos[0], 1),
                                                             round(pos[1], 1)]})
        self.undo_stack.push(commands.AddNode(self.graph, node))
        return node_id

    def remove_items(self, node_ids: list[str], edges: Iterable[Edge] = ()) -> None:
        if not self._editable():
            return
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        edges = [e for e in edges if e in self.graph.edges
                 and e.src not in node_ids and e.dst not in node_ids]
        if not node_ids and not edges:
            return

        def build():
            for edge in edges:
                yield commands.Disconnect(self.graph, edge)
            for node_id in node_ids:
                for other in list(self.graph.nodes.values()):
                    if other.shares == node_id and other.id not in node_ids:
                        yield commands.SetShares(self.graph, other.id, node_id, None)
                yield commands.RemoveNode(self.graph, node_id)

        self._push(f"Delete {len(node_ids)} node(s), {len(edges)} edge(s)", build())

    def move_nodes(self, moves: dict[str, tuple[float, float]]) -> None:
        if not self._editable():
            return
        moves = {n: p for n, p in moves.items() if n in self.graph.nodes}
        old = {n: self.graph.nodes[n].ui.get("pos") for n in moves}
        if any(p is None for p in old.values()):
            # Unplaced nodes were drawn where the canvas's layout put them: undo goes there.
            from gui.canvas.layout import missing_positions

            drawn = missing_positions(self.graph)
            old = {n: p if p is not None else list(drawn.get(n, moves[n]))
                   for n, p in old.items()}
        new = {n: [round(float(p[0]), 1), round(float(p[1]), 1)] for n, p in moves.items()}
        if any(old[n] != new[n] for n in new):
            self.undo_stack.push(commands.MoveNodes(self.graph, old, new))

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """Connects an output to an input; returns why not, or None once connected."""
        if not self._editable():
            return READ_ONLY_MESSAGE
        if self._timer.isActive() or self.shapes is None:
            self.analyse_now()  # the trial of the new wire needs this graph's shapes
        problem = analysis.connection_problem(self.graph, self.shapes, src, src_port,
                                              dst, dst_port)
        if problem:
            self.message.emit(problem)
            return problem
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self.graph.edges:
            return None
        existing = self.graph.edge_into(dst, dst_port)

        def build():
            if existing is not None:
                yield commands.Disconnect(self.graph, existing)
            yield commands.Connect(self.graph, edge)

        self._push(f"Connect {edge}", build())
        return None

    def disconnect(self, edge: Edge) -> None:
        if self._editable() and edge in self.graph.edges:
            self.undo_stack.push(commands.Disconnect(self.graph, edge))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Sets a validated parameter. Raises ParamError naming the node and parameter.

        When the value changes the node's input ports (a merge's `inputs`), the edges into
        ports that no longer exist go in the same step.
        """
        if not self._editable():
            return
        node = self.graph.nodes[node_id]
        node_type = node.node_type
        try:
            value = editing.validated(node_type, name, value)
        except ParamError as e:
            raise ParamError(f"{node_id}.{name}: {e}") from e
        old = node.resolved_params().get(name)
        if value == old:
            return
        new_params = node_type.resolve(node.params) | {name: value}
        ports = {p.name for p in node_type.input_ports(new_params)}
        stale = [e for e in self.graph.edges_into(node_id) if e.dst_port not in ports]
        command = commands.SetParam(self.graph, node_id, name, old, value)
        if not stale:
            self.undo_stack.push(command)
            return
        self._push(command.text(), [*(commands.Disconnect(self.graph, e) for e in stale),
                                    command])

    def set_label(self, node_id: str, label: str | None) -> None:
        if not self._editable():
            return
        old = self.graph.nodes[node_id].label
        if (label or None) != old:
            self.undo_stack.push(commands.SetLabel(self.graph, node_id, old, label or None))

    def set_shares(self, node_id: str, shares: str | None) -> None:
        if not self._editable():
            return
        old = self.graph.nodes[node_id].shares
        if shares != old:
            self.undo_stack.push(commands.SetShares(self.graph, node_id, old, shares))

    def set_meta(self, **fields: Any) -> None:
        """Sets the name, description or training settings (epochs, seed, steps_per_epoch,
        device), the latter validated as a file's. Raises GraphFormatError naming the field."""
        if not self._editable():
            return
        training = {k: v for k, v in fields.items() if k not in ("name", "description")}
        fields |= validate.training_fields(training)
        old = {k: getattr(self.graph.training if k in training else self.graph, k)
               for k in fields}
        if old != fields:
            self.undo_stack.push(commands.SetMeta(self.graph, fields))

    # --- clipboard -----------------------------------------------------------------------
    def copy_nodes(self, node_ids: list[str]) -> dict:
        return editing.copy_nodes(self.graph, node_ids)

    def paste(self, data: dict, offset: tuple[float, float] = (40, 40),
              tied: bool = False) -> list[str]:
        """Adds copies of the clipboard's nodes with fresh ids; returns the new ids.
        Tied copies share the weights of the nodes they were copied from."""
        if not self._editable():
            return []
        nodes, edges = editing.paste_plan(self.graph, data, offset, tied)
        if not nodes:
            return []

        def build():
            for node in nodes:
                yield commands.AddNode(self.graph, node)
            for edge in edges:
                yield commands.Connect(self.graph, edge)

        self._push(f"Paste {len(nodes)} node(s)", build())
        return [n.id for n in nodes]

    def duplicate(self, node_ids: list[str], tied: bool = False) -> list[str]:
        """Copies of the nodes (and the edges among them), placed just below them so that
        none lands on an original; tied copies share the weights."""
        from gui.canvas.metrics import node_face

        nodes = [self.graph.nodes[n] for n in node_ids if n in self.graph.nodes]
        tops = [n.ui.get("pos", [0.0, 0.0])[1] for n in nodes]
        bottoms = [n.ui.get("pos", [0.0, 0.0])[1] + node_face(self.graph, n).height
                   for n in nodes]
        below = max(bottoms, default=0.0) - min(tops, default=0.0) + DUPLICATE_GAP
        return self.paste(self.copy_nodes(node_ids), offset=(0.0, below), tied=tied)

    def auto_layout(self, node_ids: list[str] | None = None) -> None:
        """Places nodes left to right by topological generation, as one undo step."""
        # The canvas's layout knows each node's drawn size, so nothing overlaps.
        from gui.canvas.layout import layout_positions

        self.move_nodes(layout_positions(self.graph, node_ids))

    # --- groups --------------------------------------------------------------------------
    def add_group(self, members: list[str]) -> str | None:
        """A new group with the given nodes (loss nodes join its losses); returns its id."""
        if not self._editable():
            return None
        group_id = self.graph.unique_id("group")
        color = GROUP_PALETTE[len(self.graph.groups) % len(GROUP_PALETTE)]
        group = Group(group_id, ui={"color": color})

        def build():
            yield commands.AddGroup(self.graph, group)
            yield from self._membership(group_id, members, add=True)

        self._push(f"Add group {group_id}", build())
        return group_id

    def remove_group(self, group_id: str) -> None:
        if self._editable() and self.graph.group(group_id) is not None:
            self.undo_stack.push(commands.RemoveGroup(self.graph, group_id))

    def rename_group(self, group_id: str, name: str) -> None:
        """Renames a group (its name is its id). Raises GraphFormatError saying why a name
        cannot be one: not an identifier, a keyword, or taken by a node or another group."""
        if not self._editable() or name == group_id:
            return
        validate.group_id(name, group_id)
        if name in self.graph.nodes or self.graph.group(name) is not None:
            what = "a node" if name in self.graph.nodes else "another group"
            raise GraphFormatError(group_id, f"\"{name}\" is already the id of {what}")
        self.undo_stack.push(commands.RenameGroup(self.graph, group_id, name))

    def update_group(self, group_id: str, **fields: Any) -> None:
        """Replaces group fields (validated like the file format). Raises GraphFormatError."""
        if not self._editable():
            return
        group = self.graph.group(group_id)
        fields = editing.check_group_fields(self.graph, group, fields)  # as a file would hold
        if any(getattr(group, k) != v for k, v in fields.items()):
            self.undo_stack.push(commands.UpdateGroup(self.graph, group_id, fields))

    def add_to_group(self, group_id: str, node_ids: list[str]) -> None:
        if self._editable():
            self._push(f"Add to {group_id}", self._membership(group_id, node_ids, add=True))

    def remove_from_group(self, group_id: str, node_ids: list[str]) -> None:
        if self._editable():
            self._push(f"Remove from {group_id}",
                       self._membership(group_id, node_ids, add=False))

    def _membership(self, group_id: str, node_ids: list[str], add: bool) -> list[QUndoCommand]:
        """Commands that add or remove nodes; a loss moves out of any other group's losses."""
        changes = editing.membership_changes(self.graph, group_id, node_ids, add)
        return [commands.UpdateGroup(self.graph, gid, fields) for gid, fields in changes]
