"""Network commands of the main window: make a network of the selection, unpack, open, save
to the library. Each works on the canvas selection and reports refusals in the status bar;
the edits themselves are in gui.network_edits and gui.library.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF

from composer.errors import ComposerError
from gui import levels, network_edits
from gui.library import save_to_library
from gui.name_popup import NamePopup


class NetworkActions:
    """Network operations on one window's document and canvas."""

    def __init__(self, window) -> None:
        self.window = window
        self.document, self.scene, self.view = window.document, window.scene, window.view
        self.name_popup: NamePopup | None = None

    def make(self) -> None:
        """Asks for a name, beside the selection, then makes the selected nodes a network
        with one instance in their place (selected, so Ctrl+Shift+D ties a copy to it)."""
        ids = self.scene.selected_node_ids()
        if not ids:
            self.window.show_message("select the nodes to make a network of")
            return
        graph = self.document.graph
        self.name_popup = NamePopup(self.view, f"Make a network of {len(ids)} node(s), named:",
                                    network_edits.suggested_name(graph),
                                    lambda n: network_edits.name_problem(graph, n),
                                    lambda name: self._make(ids, name))
        rect = QRectF()
        for node_id in ids:
            rect = rect.united(self.scene.node_item(node_id).sceneBoundingRect())
        at = self.view.mapFromScene(rect.center())
        self.name_popup.popup(self.view.viewport().mapToGlobal(at))

    def _make(self, ids: list[str], name: str) -> None:
        try:
            instance = network_edits.make_network(self.document, ids, name)
        except ComposerError as e:
            self.window.show_message(str(e))
            return
        if instance:
            self.scene.select_nodes([instance])
            self.window.show_message(f"made network {name}: {instance} is its instance; "
                                     "double-click it to edit inside")

    def unpack(self) -> list[str]:
        """Replaces the selected instances by the nodes inside them (one undo step each)."""
        new = []
        for node_id in self.scene.selected_node_ids():
            if levels.network_of(self.document.level, node_id) is not None:
                new += network_edits.unpack(self.document, node_id)
        if new:
            self.scene.select_nodes(new)
        else:
            self.window.show_message("select a network instance to unpack")
        return new

    def open(self) -> None:
        """Opens the network of the selected instance on the canvas."""
        ids = self.scene.selected_node_ids()
        if len(ids) == 1 and levels.network_of(self.document.level, ids[0]) is not None:
            self.document.open_instance(ids[0])
        else:
            self.window.show_message("select one network instance to open")

    def save_to_library(self) -> None:
        """Saves the selected instance's network, or the one open, to the user's library."""
        doc = self.document
        ids = self.scene.selected_node_ids()
        network = levels.network_of(doc.level, ids[0]) if len(ids) == 1 else None
        name = network.name if network is not None else \
            doc.trail[-1].network if doc.trail else None
        if name is None:
            self.window.show_message("select a network instance, or open a network, to save it")
            return
        save_to_library(doc, name)
