"""The Document's levels: the top of the graph, or the inside of a network opened from one
of its instances, and the analysis seen from the level shown.

`trail` lists the networks opened, outermost first. The canvas shows `level`; the analysis,
made on the whole graph seen through its instances, is re-keyed for it (gui.levels). The
Document listens to every network's inside, so an edit there is analysed and its instances
redrawn wherever they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from composer.analysis.diagnostics import Diagnostic
from composer.graph import Graph
from composer.networks import SEPARATOR, Network
from gui import levels


@dataclass(frozen=True)
class Level:
    """A network opened on the canvas, and the instance whose shapes it shows (a flat path
    such as `d_real`, or None to take the network's first instance)."""

    network: str
    instance: str | None = None


class Levels:
    """The levels part of the Document (gui.document), which holds the graph, the trail, the
    analysis and the signals these methods emit."""

    @property
    def level(self) -> Graph:
        """The Graph the canvas shows and node edits change."""
        return self.graph.networks[self.trail[-1].network].graph if self.trail else self.graph

    @property
    def prefix(self) -> str | None:
        """How the flat ids of the shown level start (`d_real/`; "" at the top), or None
        inside a network that has no instance to show shapes of."""
        if not self.trail:
            return ""
        path = self.instance_path()
        return path + SEPARATOR if path is not None else None

    def instance_path(self) -> str | None:
        """The instance whose shapes the opened network shows: the one chosen while it is
        still there, else the network's first."""
        if not self.trail:
            return None
        step = self.trail[-1]
        found = levels.instances_of(self.analysis.flat, step.network) if self.analysis else []
        return step.instance if step.instance in found else next(iter(found), None)

    def open_network(self, name: str, instance: str | None = None) -> None:
        """Shows the inside of a network, with the shapes of `instance` (a flat path)."""
        if name in self.graph.networks:
            self.trail.append(Level(name, instance))
            self._level_switched()

    def open_instance(self, node_id: str) -> None:
        """Shows the inside of the network a node of the shown level is an instance of."""
        network = levels.network_of(self.level, node_id)
        if network is not None:
            self.open_network(network.name, (self.prefix or "") + node_id)

    def show_instance(self, path: str) -> None:
        """Shows the shapes of another instance of the opened network."""
        if self.trail:
            self.trail[-1] = Level(self.trail[-1].network, path)
            self._map_level()
            self.analysed.emit()

    def go_to_depth(self, depth: int) -> None:
        """Goes back out: 0 is the top level, 1 the first network opened, ..."""
        if depth < len(self.trail):
            del self.trail[depth:]
            self._level_switched()

    def _level_switched(self) -> None:
        self._map_level()
        self.level_changed.emit()
        self.analysed.emit()

    def _follow(self, graph: Graph) -> None:
        """Listens to the graph's events and to those of each of its networks' insides."""
        graph.events.sub(self._on_graph_event)
        for network in graph.networks.values():
            self._follow_network(network)

    def _unfollow(self, graph: Graph) -> None:
        graph.events.unsub(self._on_graph_event)
        for inner, listener in self._inner.values():
            inner.events.unsub(listener)
        self._inner.clear()

    def _follow_network(self, network: Network) -> None:
        if id(network) not in self._inner:
            listener = partial(self._on_inner_event, network)
            network.graph.events.sub(listener)
            self._inner[id(network)] = (network.graph, listener)

    def _on_inner_event(self, network: Network, name: str, **payload: Any) -> None:
        self.schedule_analysis()
        if name != "node_moved" and self.graph.networks.get(network.name) is network:
            self.network_edited.emit(network.name)  # its instances' faces may change

    def _map_level(self) -> None:
        """The shown level's shapes and problems, by its own node ids."""
        from composer.analysis.shapes import Shapes

        result, prefix = self.analysis, self.prefix
        if result is None:
            return
        if prefix is None:  # a network without instances: nothing was inferred inside
            self.shapes, self.level_diagnostics = Shapes(), []
            return
        self.shapes = levels.level_shapes(result.shapes, result.flat, self.level, prefix)
        self.level_diagnostics = levels.level_diagnostics(result.diagnostics, self.level,
                                                          prefix)

    def node_diagnostics(self, node_id: str) -> list[Diagnostic]:
        """The problems of a node of the shown level (inside an instance: named by path)."""
        return [d for d in self.level_diagnostics if d.node == node_id]

    def reveal(self, paths: list[str]) -> None:
        """Selects what flat ids (`d_real/fc1`, a group's members) point at: inside the
        opened instance when they lie there, else their nodes on the top level."""
        prefix = self.prefix
        if prefix:
            inside = [levels.owner(p, prefix) for p in paths]
            if all(n is not None and n in self.level.nodes for n in inside):
                self.select_requested.emit(list(dict.fromkeys(inside)))
                return
        self.go_to_depth(0)
        self.select_requested.emit(list(dict.fromkeys(
            levels.owner(p, "") for p in paths if levels.owner(p, "") in self.graph.nodes)))

