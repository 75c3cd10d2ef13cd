"""The inspector's parts about networks: an instance's network, the ports and parameters of
the network open on the canvas, and that network's own page when nothing is selected in it.

A mixin of the Inspector (gui.inspector), which holds the document, the form being built and
the editors; every edit goes through gui.network_edits and gui.network_ports.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from composer.errors import ComposerError
from gui import levels, network_edits, network_ports


def network_outline(network) -> tuple:
    """What the inspector shows of a network that is not typed into: ports and params."""
    return (network.name, dict(network.inputs), dict(network.outputs),
            {k: p.to_dict() for k, p in network.params.items()})


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


class NetworkSections:
    """The Inspector's network parts."""

    def _remember_outline(self) -> None:
        """The outline of the network the page is about: the selected instance's, or the
        one open."""
        doc = self.document
        shown = levels.network_of(doc.level, self.node_ids[0]) if len(self.node_ids) == 1 \
            else None
        shown = shown or network_ports.opened(doc)
        self._outline = network_outline(shown) if shown is not None else None

    def _network_changed(self, name: str) -> None:
        """When a network gains or loses ports or parameters, an instance of it shown here
        and whatever is shown inside it are built again, once the edit is over (the field
        that made it may be among what goes)."""
        doc = self.document
        network = doc.graph.networks.get(name)
        inside = bool(doc.trail) and doc.trail[-1].network == name
        shown = inside or any(getattr(levels.network_of(doc.level, n), "name", None) == name
                              for n in self.node_ids)
        if network is not None and shown and network_outline(network) != self._outline:
            QTimer.singleShot(0, self, lambda: self.show_nodes(self.node_ids))

    def _network_ports(self, node_id: str) -> None:
        """Inside a network: which of the node's ports are the network's own, and buttons to
        make a port one (an unwired input, any output) or to take it off again."""
        level = self.document.level
        t = level.type_of(level.nodes[node_id])
        exposed = levels.exposed_ports(level, node_id)
        wired = {e.dst_port for e in level.edges_into(node_id)}
        form = QFormLayout()
        params = level.params_of(node_id)
        for output, ports in ((False, t.input_ports(params)), (True, t.output_ports(params))):
            side = "output" if output else "input"
            for port in ports:
                name = exposed.get((output, port.name))
                if name is not None:
                    button = QPushButton(f"network {side} {name}: remove")
                    button.clicked.connect(lambda _=False, n=name, o=output: self._guard(
                        network_ports.unexpose, self.document, n, o))
                elif output or port.name not in wired:
                    button = QPushButton(f"make it a network {side}")
                    button.clicked.connect(lambda _=False, p=port.name, o=output: self._guard(
                        network_ports.expose, self.document, node_id, p, o))
                else:
                    continue
                button.setObjectName(f"network_port_{side}_{port.name}")
                form.addRow(f"{port.name} ({side})", button)
        if form.rowCount():
            self.layout_.addWidget(QLabel("<b>Network ports</b>"))
            self.layout_.addLayout(form)

    def _guard(self, edit, *args) -> None:
        """Runs an edit; a refusal is said in the status bar."""
        try:
            edit(*args)
        except ComposerError as e:
            self.document.message.emit(str(e))

    def _set_by_network(self, node_id: str) -> dict[str, tuple[str, str]]:
        """Inside a network: the node's parameters that a parameter of the network sets (each
        instance gives its value): (that parameter, a note saying so)."""
        network = network_ports.opened(self.document)
        if network is None:
            return {}
        return {target.partition(".")[2]: (name, f"set by each instance's {name}, a "
                                           f"parameter of {network.name}")
                for name, p in network.params.items() for target in p.sets
                if target.partition(".")[0] == node_id}

    def _with_network_switch(self, editor: QWidget, node_id: str, param: str,
                             set_by: tuple[str, str] | None) -> QWidget:
        """An inner parameter's field with a button that makes it a parameter of the
        network (each instance its own value), or takes that parameter off again."""
        button = QPushButton("\u2715" if set_by else "\u21e1")
        button.setObjectName(f"network_param_{param}")
        button.setFixedWidth(28)
        if set_by:
            button.setToolTip(f"take {set_by[0]} off the network: this value for every "
                              "instance again")
            button.clicked.connect(lambda: self._guard(network_ports.unexpose_param,
                                                       self.document, set_by[0]))
        else:
            button.setToolTip(f"make {param} a parameter of the network: each instance "
                              "gives its own value")
            button.clicked.connect(lambda: self._guard(network_ports.expose_param,
                                                       self.document, node_id, param))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(editor, 1)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def _instance_rows(self, form: QFormLayout, node_id: str, network) -> None:
        """What a network instance adds: the network (opened from here), what it holds, and
        unpacking it back into nodes."""
        inside = QLabel(f"{html.escape(levels.inside_summary(network, limit=6))}")
        inside.setObjectName("instance_inside")
        inside.setWordWrap(True)
        form.addRow("network", QLabel(f"<b>{html.escape(network.name)}</b>"))
        form.addRow("inside", inside)
        buttons = QHBoxLayout()
        open_button = QPushButton("Open inside")
        open_button.setObjectName("open_network")
        open_button.setToolTip("edit the network (every instance follows); double-click "
                               "the node does the same")
        open_button.clicked.connect(lambda: self.document.open_instance(node_id))
        unpack = QPushButton("Unpack")
        unpack.setObjectName("unpack_network")
        unpack.setToolTip("replace this instance by the nodes inside it (Ctrl+Shift+G)")
        unpack.clicked.connect(lambda: self._guard(network_edits.unpack, self.document, node_id))
        buttons.addWidget(open_button)
        buttons.addWidget(unpack)
        form.addRow(buttons)

    def _build_network(self) -> None:
        """Inside a network, with nothing selected: the network itself."""
        doc = self.document
        network = doc.graph.networks[doc.trail[-1].network]
        self.layout_.addWidget(QLabel(f"<b>Network {html.escape(network.name)}</b>"))
        form = QFormLayout()
        self.description_edit = QPlainTextEdit(network.description)
        self.description_edit.setObjectName("network_description")
        self.description_edit.setMaximumHeight(90)
        self.description_edit.textChanged.connect(
            lambda: network_ports.set_description(doc, network.name,
                                                  self.description_edit.toPlainText()))
        form.addRow("description", self.description_edit)
        for output, ports in ((False, network.inputs), (True, network.outputs)):
            for name, refs in ports.items():
                form.addRow(f"{'output' if output else 'input'}",
                            self._port_name_edit(name, refs, output))
        instances = levels.instances_of(doc.analysis.flat, network.name) if doc.analysis \
            else []
        form.addRow("instances", _muted(", ".join(instances) or "none yet"))
        self.layout_.addLayout(form)
        self.count_label = QLabel()
        self.count_label.setObjectName("param_count")
        self.layout_.addWidget(self.count_label)
        shown = doc.instance_path()
        self.layout_.addWidget(_muted(
            "An edit here changes every instance: the network is one definition. "
            + (f"Shapes are those of {shown}." if shown else "It has no instance yet, so no "
               "shapes are inferred inside it.")))

    def _port_name_edit(self, name: str, refs, output: bool) -> QLineEdit:
        """A port's name, renamed by typing a new one (Enter): instances' wires follow."""
        edit = QLineEdit(name)
        edit.setObjectName(f"network_{'output' if output else 'input'}_{name}")
        inner = refs if output else ", ".join(refs)
        edit.setToolTip(f"{'gives' if output else 'feeds'} {inner} inside; type a new name "
                        "and Enter to rename it")

        def rename() -> None:
            new = edit.text().strip()
            if new == name:
                return
            try:
                network_ports.rename_port(self.document, name, new, output)
            except ComposerError as e:
                edit.setText(name)
                self.document.message.emit(str(e))

        edit.editingFinished.connect(rename)
        return edit
