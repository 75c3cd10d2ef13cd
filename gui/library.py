"""The user's library of networks: parts saved from one graph to be used in others.

A folder (in the user's data folder, `networks/`) of ordinary graph files, one per network,
`<Name>.graph.json`, each holding that network and the networks it uses, and no nodes: what
the file format already reads and validates. Bringing one into a graph adds those networks
(a network the graph already has, the same, is used as it is; one that differs by a name it
has comes in under a fresh name).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from composer import fileformat
from composer.errors import ComposerError
from composer.graph import Graph, Node
from composer.names import fresh_name
from composer.networks import PREFIX, Network, uses
from gui import commands
from gui.editing import id_stem
from gui.network_edits import Refused, containment_problem

log = logging.getLogger(__name__)
SUFFIX = ".graph.json"
LIBRARY = "library:"  # a palette entry for a network of the user's library: library:<Name>


def default_folder() -> Path:
    """`networks/` in the application's data folder (per user, per platform)."""
    location = QStandardPaths.StandardLocation.AppDataLocation
    return Path(QStandardPaths.writableLocation(location)) / "networks"


class Library:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()

    def path(self, name: str) -> Path:
        return self.folder / f"{name}{SUFFIX}"

    def names(self) -> list[str]:
        """The networks saved, by name, in alphabetical order."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name[:-len(SUFFIX)] for p in self.folder.glob(f"*{SUFFIX}"))

    def save(self, graph: Graph, name: str) -> Path:
        """Writes the network and those it uses as a file of their own; returns where."""
        part = Graph(name, graph.networks[name].description)
        for needed in _with_used(graph.networks, name):
            part.networks[needed] = graph.networks[needed]
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        fileformat.save(part, target)
        return target

    def load(self, name: str) -> Graph:
        """The library file of that name, read and validated; ComposerError or OSError say
        why it cannot be."""
        graph = fileformat.load(self.path(name))
        if name not in graph.networks:
            raise ComposerError(f"{self.path(name)} holds no network {name}")
        return graph


def _with_used(networks: dict[str, Network], name: str) -> list[str]:
    """The network and every network it uses, each once, used ones first."""
    found: list[str] = []

    def visit(current: str) -> None:
        if current in networks and current not in found:
            for inner in uses(networks[current]):
                visit(inner)
            found.append(current)

    visit(name)
    return found


def networks_to_add(graph: Graph, part: Graph, name: str) -> tuple[list[Network], str]:
    """The networks a library part brings into `graph` (fresh Network objects, renamed
    where a different network already has the name), and the name its main network has
    there."""
    renamed: dict[str, str] = {}
    data = {}
    for needed in _with_used(part.networks, name):
        network = part.networks[needed]
        own = graph.networks.get(needed)
        body = network.to_dict()
        for node in body["nodes"]:  # instances follow the networks they use
            inner = node["type"][len(PREFIX):] if node["type"].startswith(PREFIX) else None
            if inner in renamed:
                node["type"] = PREFIX + renamed[inner]
        if own is not None and own.to_dict() == body:
            renamed[needed] = needed  # the same part: used as it is
            continue
        new = needed if own is None else fresh_name(
            needed, lambda n: n in graph.networks or n in data)
        renamed[needed] = new
        data[new] = body
    if not data:
        return [], renamed[name]
    everything = {n: net.to_dict() for n, net in graph.networks.items()} | data
    parsed = fileformat.from_dict({"format": fileformat.FORMAT_NAME, "version": 2,
                                   "networks": everything})
    return [parsed.networks[n] for n in data], renamed[name]


def add_from_library(doc, name: str, pos: tuple[float, float],
                     params: dict | None = None) -> str | None:
    """Brings a network of the user's library into the file, with an instance of it at
    `pos`; one undo step. Returns the instance's id."""
    if not doc._editable():
        return None
    part = doc.library.load(name)
    networks, local = networks_to_add(doc.graph, part, name)
    problem = containment_problem(doc, PREFIX + local) if not networks else None
    if problem:
        raise Refused(problem)
    level = doc.level
    node = Node(level.unique_id(id_stem(PREFIX + local)), PREFIX + local, dict(params or {}),
                ui={"pos": [round(pos[0], 1), round(pos[1], 1)]})
    doc.push(f"Add {name} from the library",
             [*(commands.AddNetwork(doc.graph, n) for n in networks),
              commands.AddNode(level, node)])
    if local != name:
        doc.message.emit(f"the file already had a different network {name}: this one is "
                         f"{local}")
    return node.id


def save_to_library(doc, name: str) -> Path:
    """Writes the network (and those it uses) to the user's library."""
    replaced = name in doc.library.names()
    path = doc.library.save(doc.graph, name)
    again = " (replacing the one saved before)" if replaced else ""
    doc.message.emit(f"saved {name} to the library{again}: {path}")
    doc.library_changed.emit()
    return path
