"""The open graph: its file, dirty state, undo stack, latest analysis, and the level shown.

Every edit is one undoable step built from gui.commands. Views redraw from the graph's events
and from the signals here; the Document never holds a second copy of the model.

The canvas shows one level: the top of the graph, or the inside of a network opened from one
of its instances (`trail` says which, outermost first). Node and wire edits go to that level's
Graph; groups and training settings always belong to the top.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from composer import fileformat
from composer.analysis.diagnostics import Diagnostic
from composer.errors import GraphFormatError, ParamError
from composer.fileformat import validate
from composer.graph import Edge, Graph, Group, Node
from gui import (
    analysis,
    commands,
    editing,
    graph_replace,
    library,
    network_edits,
    network_ports,
    uistate,
    watching,
)
from gui.document_levels import Level, Levels
from gui.theme import GROUP_PALETTE

log = logging.getLogger(__name__)

READ_ONLY_MESSAGE = "Training: the graph is read-only"
DUPLICATE_GAP = 48.0  # between the originals' lowest edge and their copies


class Document(Levels, QObject):
    """What the canvas and the panels edit. Each public edit method is one undo step."""

    graph_replaced = Signal()
    level_changed = Signal()  # the canvas shows another level (a network's inside, or the top)
    network_edited = Signal(str)  # a network's inside or its own fields changed: its name
    network_changed = Signal(str)  # its own fields (ports, params, description): its name
    networks_changed = Signal()  # a network was added to the file or taken out of it
    library_changed = Signal()  # a network was saved to the user's library
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
        self.trail: list[Level] = []  # the networks opened, outermost first; [] at the top
        self.analysis = None  # composer.analysis.checks.Analysis once analysed
        self.shapes = None  # the shown level's Shapes, by its own node ids (gui.levels)
        self.diagnostics: list[Diagnostic] = []  # every problem; inside instances by path
        self.level_diagnostics: list[Diagnostic] = []  # the shown level's, on its own nodes
        self._inner: dict[int, tuple[Graph, object]] = {}  # id(network) -> its graph, listener
        self.library = library.Library()  # the user's saved networks (gui.library)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._analyse_when_idle)
        self._version = 0  # counts edits, so a result can tell whether it is still current
        self._warm_up: threading.Thread | None = None
        self._warmed.connect(self._on_warmed)
        self._follow(self.graph)

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
        self._unfollow(self.graph)
        self.graph = graph
        self.trail = []
        self._follow(graph)
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
        if name == "ui_changed":  # display state (the watch list): nothing to check
            return
        self.schedule_analysis()
        network = payload.get("network")
        if name in ("network_added", "network_removed"):
            self.networks_changed.emit()
        if name == "network_added":
            self._follow_network(network)
        elif name == "network_removed":
            inner, listener = self._inner.pop(id(network), (None, None))
            if inner is not None:
                inner.events.unsub(listener)
            opened = [step.network for step in self.trail]
            if network.name in opened:
                self.go_to_depth(opened.index(network.name))
        elif name == "network_changed":
            self.network_changed.emit(network.name)
            self.network_edited.emit(network.name)

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
        self.set_analysis(analysis.analyse(self.graph))

    def set_analysis(self, result) -> None:
        """Takes an analysis of the graph (composer.analysis.checks.Analysis) and shows it."""
        self.analysis = result
        self.diagnostics = result.diagnostics
        self._map_level()
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
            self.set_analysis(result)
        else:
            self.analyse_now()

    # --- edits ---------------------------------------------------------------------------
    def push(self, text: str, steps: Iterable[QUndoCommand]) -> None:
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
        if type_id.startswith(library.LIBRARY):
            return library.add_from_library(self, type_id[len(library.LIBRARY):],
                                                  pos, params)
        node_type = self.level.type_of(type_id)
        if node_type is None:
            raise KeyError(f"unknown node type {type_id!r}")
        problem = network_edits.containment_problem(self, type_id)
        if problem:
            raise network_edits.Refused(problem)
        clean = {}
        for name, value in (params or {}).items():
            clean[name] = editing.validated(node_type, name, value)
        node_id = self.level.unique_id(editing.id_stem(node_type.id))
        node = Node(node_id, node_type.id, clean, ui={"pos": [round(pos[0], 1),
                                                             round(pos[1], 1)]})
        self.undo_stack.push(commands.AddNode(self.level, node))
        return node_id

    def add_after(self, node_id: str, type_id: str, params: dict | None = None) -> str | None:
        """Adds a node after `node_id` (gui.placing says where), wired from its first output
        the new node can take: a chain grows one block at a time. One undo step; returns
        the new node's id."""
        from gui import placing

        pos = placing.after(self.level, node_id, type_id, params or {})
        self.undo_stack.beginMacro(f"Add {type_id} after {node_id}")
        try:
            new = self.add_node(type_id, pos, params)
            ports = analysis.first_wire(self.level, self.shapes, node_id, new) if new else None
            if ports is not None:
                self.connect(node_id, ports[0], new, ports[1])
        finally:
            self.undo_stack.endMacro()
        return new

    def remove_items(self, node_ids: list[str], edges: Iterable[Edge] = ()) -> None:
        if not self._editable():
            return
        node_ids = [n for n in node_ids if n in self.level.nodes]
        edges = [e for e in edges if e in self.level.edges
                 and e.src not in node_ids and e.dst not in node_ids]
        if not node_ids and not edges:
            return
        problem = network_ports.removal_problem(self, node_ids)
        if problem:
            self.message.emit(problem)
            return

        def build():
            for edge in edges:
                yield commands.Disconnect(self.level, edge)
            for node_id in node_ids:
                for other in list(self.level.nodes.values()):
                    if other.shares == node_id and other.id not in node_ids:
                        yield commands.SetShares(self.level, other.id, node_id, None)
                yield commands.RemoveNode(self.level, node_id)
            yield from network_ports.repairs_after_removal(self, set(node_ids))
            yield from watching.after_removal(self, node_ids)

        self.push(f"Delete {len(node_ids)} node(s), {len(edges)} edge(s)", build())

    def move_nodes(self, moves: dict[str, tuple[float, float]]) -> None:
        if not self._editable():
            return
        moves = {n: p for n, p in moves.items() if n in self.level.nodes}
        old = {n: self.level.nodes[n].ui.get("pos") for n in moves}
        if any(p is None for p in old.values()):
            # Unplaced nodes were drawn where the canvas's layout put them: undo goes there.
            from gui.canvas.layout import missing_positions

            drawn = missing_positions(self.level)
            old = {n: p if p is not None else list(drawn.get(n, moves[n]))
                   for n, p in old.items()}
        new = {n: [round(float(p[0]), 1), round(float(p[1]), 1)] for n, p in moves.items()}
        if any(old[n] != new[n] for n in new):
            self.undo_stack.push(commands.MoveNodes(self.level, old, new))

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """Connects an output to an input; returns why not, or None once connected."""
        if not self._editable():
            return READ_ONLY_MESSAGE
        if self._timer.isActive() or self.shapes is None:
            self.analyse_now()  # the trial of the new wire needs this graph's shapes
        problem = analysis.connection_problem(self.level, self.shapes, src, src_port,
                                              dst, dst_port)
        if problem:
            self.message.emit(problem)
            return problem
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self.level.edges:
            return None
        existing = self.level.edge_into(dst, dst_port)

        def build():
            if existing is not None:
                yield commands.Disconnect(self.level, existing)
            yield commands.Connect(self.level, edge)

        self.push(f"Connect {edge}", build())
        return None

    def disconnect(self, edge: Edge) -> None:
        if self._editable() and edge in self.level.edges:
            self.undo_stack.push(commands.Disconnect(self.level, edge))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Sets a validated parameter. Raises ParamError naming the node and parameter.

        When the value changes the node's ports (a merge's `inputs`, a data node's `y_key`
        set to null), the edges at ports that no longer exist go in the same step.
        """
        if not self._editable():
            return
        node = self.level.nodes[node_id]
        node_type = self.level.type_of(node)
        try:
            value = editing.validated(node_type, name, value)
        except ParamError as e:
            raise ParamError(f"{node_id}.{name}: {e}") from e
        old = self.level.params_of(node_id).get(name)
        if value == old:
            return
        new_params = node_type.resolve(node.params) | {name: value}
        ins = {p.name for p in node_type.input_ports(new_params)}
        outs = {p.name for p in node_type.output_ports(new_params)}
        stale = [e for e in self.level.edges if (e.dst == node_id and e.dst_port not in ins)
                 or (e.src == node_id and e.src_port not in outs)]
        command = commands.SetParam(self.level, node_id, name, old, value)
        if not stale:
            self.undo_stack.push(command)
            return
        self.push(command.text(), [*(commands.Disconnect(self.level, e) for e in stale),
                                    command])

    def set_label(self, node_id: str, label: str | None) -> None:
        if not self._editable():
            return
        old = self.level.nodes[node_id].label
        if (label or None) != old:
            self.undo_stack.push(commands.SetLabel(self.level, node_id, old, label or None))

    def set_shares(self, node_id: str, shares: str | None) -> None:
        if not self._editable():
            return
        old = self.level.nodes[node_id].shares
        if shares != old:
            self.undo_stack.push(commands.SetShares(self.level, node_id, old, shares))

    def set_weights(self, node_id: str, weights: dict | None) -> None:
        """Sets or removes a top-level node's pretrained weights file key, as one undo step."""
        if not self._editable() or self.level is not self.graph:
            return
        old = self.graph.nodes[node_id].weights
        if weights != old:
            self.undo_stack.push(commands.SetWeights(self.graph, node_id, old, weights))

    def set_meta(self, **fields: Any) -> None:
        """Sets the name, description or training settings (epochs, seed, steps_per_epoch,
        device), the latter validated as a file's. Raises GraphFormatError naming the field."""
        if not self._editable():
            return
        training = {k: v for k, v in fields.items() if k not in ("name", "description")}
        fields |= validate.training_fields(training)
        old = {k: getattr(self.level.training if k in training else self.level, k)
               for k in fields}
        if old != fields:
            self.undo_stack.push(commands.SetMeta(self.level, fields))

    def replace_contents(self, graph: Graph, text: str) -> None:
        """Makes the open graph hold `graph`'s nodes, edges, groups, networks and settings,
        as one undoable step `text`; the file it belongs to stays (a run's graph restored)."""
        if not self._editable():
            return
        self.go_to_depth(0)
        self.push(text, graph_replace.replace_steps(self.graph, graph.copy()))

    # --- clipboard -----------------------------------------------------------------------
    def copy_nodes(self, node_ids: list[str]) -> dict:
        return editing.copy_nodes(self.level, node_ids)

    def paste(self, data: dict, offset: tuple[float, float] = (40, 40),
              tied: bool = False) -> list[str]:
        """Adds copies of the clipboard's nodes with fresh ids; returns the new ids.
        Tied copies share the weights of the nodes they were copied from."""
        if not self._editable():
            return []
        nodes, edges, networks = editing.paste_plan(self.level, data, offset, tied)
        if not nodes:
            return []

        def build():
            for network in networks:
                yield commands.AddNetwork(self.graph, network)
            for node in nodes:
                yield commands.AddNode(self.level, node)
            for edge in edges:
                yield commands.Connect(self.level, edge)

        self.push(f"Paste {len(nodes)} node(s)", build())
        return [n.id for n in nodes]

    def duplicate(self, node_ids: list[str], tied: bool = False) -> list[str]:
        """Copies of the nodes (and the edges among them), placed just below them so that
        none lands on an original; tied copies share the weights."""
        from gui.canvas.metrics import node_face

        nodes = [self.level.nodes[n] for n in node_ids if n in self.level.nodes]
        tops = [n.ui.get("pos", [0.0, 0.0])[1] for n in nodes]
        bottoms = [n.ui.get("pos", [0.0, 0.0])[1] + node_face(self.level, n).height
                   for n in nodes]
        below = max(bottoms, default=0.0) - min(tops, default=0.0) + DUPLICATE_GAP
        return self.paste(self.copy_nodes(node_ids), offset=(0.0, below), tied=tied)

    def auto_layout(self, node_ids: list[str] | None = None) -> None:
        """Places nodes left to right by topological generation, as one undo step."""
        # The canvas's layout knows each node's drawn size, so nothing overlaps.
        from gui.canvas.layout import layout_positions

        self.move_nodes(layout_positions(self.level, node_ids))

    # --- groups --------------------------------------------------------------------------
    def add_group(self, members: list[str]) -> str | None:
        """A new group with the given nodes (loss nodes join its losses); returns its id.

        A group made of loss nodes alone also trains what they reach and no other group
        trains yet: made for a GAN's discriminator losses first, then for the generator's,
        each group gets its own network's weights."""
        if not self._editable():
            return None
        graph = self.graph
        types = [graph.type_of(graph.nodes[n]) for n in members if n in graph.nodes]
        if types and all(t is not None and t.is_loss for t in types):
            trained = {graph.nodes[m].shares or m for g in graph.groups for m in g.members
                       if m in graph.nodes}
            members = [*members, *(n for n in editing.reached_weights(graph, members)
                                   if n not in trained)]
        group_id = self.graph.unique_id("group")
        color = GROUP_PALETTE[len(self.graph.groups) % len(GROUP_PALETTE)]
        group = Group(group_id, ui={"color": color})

        def build():
            yield commands.AddGroup(self.graph, group)
            yield from self._membership(group_id, members, add=True)

        self.push(f"Add group {group_id}", build())
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
            self.push(f"Add to {group_id}", self._membership(group_id, node_ids, add=True))

    def remove_from_group(self, group_id: str, node_ids: list[str]) -> None:
        if self._editable():
            self.push(f"Remove from {group_id}",
                       self._membership(group_id, node_ids, add=False))

    def _membership(self, group_id: str, node_ids: list[str], add: bool) -> list[QUndoCommand]:
        """Commands that add or remove nodes; a loss moves out of any other group's losses."""
        changes = editing.membership_changes(self.graph, group_id, node_ids, add)
        return [commands.UpdateGroup(self.graph, gid, fields) for gid, fields in changes]
