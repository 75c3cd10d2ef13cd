"""The inspector: the selected node's label, parameters, shapes and problems.

Its fields are generated from the catalogue's parameter declarations (a network instance's
from the inner declarations its parameters set). With nothing selected it edits the graph's
name, description and training settings (what `composer train` runs), or inside a network
that network's description; with several nodes it sums them up.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from composer.analysis.shapes import format_shape
from composer.errors import ComposerError, GraphFormatError
from composer.fileformat import validate
from composer.networks import SEPARATOR
from composer.weights import match_weights
from gui import levels, theme
from gui.document import Document
from gui.editing import has_weights
from gui.inspector_network import NetworkSections
from gui.param_widgets import DeviceBox, ParamEditor, form_label


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def named(graph, node_id: str) -> str:
    """`generator fc (fc1)`: a node by its label, with the id code and files use."""
    node = graph.nodes.get(node_id)
    return f"{node.label} ({node_id})" if node is not None and node.label else node_id


def describe_count(document: Document, node_id: str) -> str:
    """`4,640 parameters`, or why there is no count, in words a user can act on."""
    level = document.level
    node = level.nodes[node_id]
    if node.shares:
        return f"shares the weights of {named(level, node.shares)}"
    if not has_weights(level, node):
        return "no parameters"
    counts = document.shapes.param_counts if document.shapes else {}
    if node_id not in counts:
        return "parameters: not known until the inputs are wired and valid"
    n = counts[node_id]
    return f"{n:,} parameters" if n else "no parameters"


def weights_row(document: Document, node_id: str) -> QWidget:
    """The node's weights file (name, prefix, how many tensors it gives) and a Remove button."""
    weights = document.graph.nodes[node_id].weights
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    label = QLabel(f"{Path(str(weights.get('path'))).name} ({weights_summary(document, node_id)})")
    label.setObjectName("node_weights")
    label.setWordWrap(True)
    label.setToolTip(f"{weights.get('path')}, prefix {weights.get('prefix', '')!r}, match "
                     f"{weights.get('match', 'names')}: a run starts from these weights")
    remove = QPushButton("Remove")
    remove.setObjectName("remove_weights")
    remove.clicked.connect(lambda: document.set_weights(node_id, None))
    box.addWidget(label, 1)
    box.addWidget(remove)
    return row


def weights_summary(document: Document, node_id: str) -> str:
    """`18 of 18 tensors`, or why it does not load, in a few words."""
    weights = document.graph.nodes[node_id].weights
    try:
        found = match_weights(document.graph, node_id, weights["path"], weights["prefix"],
                              weights["match"])
    except (ComposerError, KeyError, TypeError) as e:
        return f"cannot be loaded: {e}"
    fit = f"{len(found.matched)} of {len(found.rows)} tensors"
    return fit if found.ok else f"{fit} fit: does not load"


def _covers(member: str, path: str) -> bool:
    """A group member that trains the node at `path`: the node, or an instance around it."""
    return path == member or path.startswith(f"{member}{SEPARATOR}")


def place_of(d) -> str:
    """`tied to: ` before a problem of a setting that has no field of its own."""
    return {"shares": "tied to: "}.get(d.param, f"{d.param}: " if d.param else "")


class Inspector(NetworkSections, QScrollArea):
    """Shows one node, several nodes, or the graph; edits go through the Document."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_ids: list[str] = []
        self.editors: dict[str, ParamEditor] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        document.graph_replaced.connect(self._on_graph_replaced)
        document.level_changed.connect(self._on_graph_replaced)
        document.network_changed.connect(self._network_changed)
        document.analysed.connect(self._refresh_analysis)
        self._subscribed: list = []
        self._on_graph_replaced()

    # --- following the document ----------------------------------------------------------
    def _on_graph_replaced(self) -> None:
        """Follows the graph (its groups and settings) and the level shown (its nodes)."""
        for graph in self._subscribed:
            graph.events.unsub(self._on_event)
        doc = self.document
        self._subscribed = [doc.graph] + ([doc.level] if doc.level is not doc.graph else [])
        for graph in self._subscribed:
            graph.events.sub(self._on_event)
        self.show_nodes([])

    def _on_event(self, name: str, **payload: Any) -> None:
        node = payload.get("node")
        if name == "node_removed" and node is not None and node.id in self.node_ids:
            self.show_nodes([n for n in self.node_ids if n != node.id])
        elif name == "node_changed" and node is not None and self.node_ids == [node.id] \
                and payload.get("what") == "weights":
            self.show_nodes(self.node_ids)
        elif name == "node_changed" and node is not None and self.node_ids == [node.id]:
            self._sync_values()
            self._refresh_groups()
        elif name == "node_added" and node is not None and node.id in self.node_ids:
            self.show_nodes(self.node_ids)
        elif name == "graph_changed" and not self.node_ids and not self.document.trail:
            self._sync_graph_fields()
        elif name.startswith("group") and len(self.node_ids) == 1:
            self._refresh_groups()

    def show_nodes(self, node_ids: list[str]) -> None:
        """Rebuilds the panel for a new selection."""
        self.node_ids = [n for n in node_ids if n in self.document.level.nodes]
        self._remember_outline()
        self.editors = {}
        page = QWidget()
        self.layout_ = QVBoxLayout(page)
        if len(self.node_ids) == 1:
            self._build_node(self.node_ids[0])
        elif self.node_ids:
            self._build_many()
        elif self.document.trail:
            self._build_network()
        else:
            self._build_graph()
        self.layout_.addStretch(1)
        self.setWidget(page)
        self._refresh_analysis()

    # --- one node ------------------------------------------------------------------------
    def _build_node(self, node_id: str) -> None:
        level = self.document.level
        node = level.nodes[node_id]
        t = level.type_of(node)
        color = theme.category_color(t.category).name()
        title = QLabel(f"<b>{theme.CATEGORY_GLYPHS.get(t.category, '')} {t.id}</b>")
        title.setStyleSheet(f"background: {color}; color: white; padding: 4px; "
                            "border-radius: 3px;")
        self.layout_.addWidget(title)
        self.layout_.addWidget(_muted(t.summary))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        ident = QLineEdit(node.id)
        ident.setReadOnly(True)
        ident.setToolTip("The node's id: its name in the exported code")
        form.addRow("id", ident)
        self.label_edit = QLineEdit(node.label or "")
        self.label_edit.setObjectName("node_label")
        self.label_edit.setPlaceholderText(node.id)
        self.label_edit.textEdited.connect(lambda text: self.document.set_label(node_id, text))
        form.addRow("label", self.label_edit)
        network = levels.network_of(level, node_id)
        if network is not None:
            self._instance_rows(form, node_id, network)
        resolved = level.params_of(node_id)
        set_by = self._set_by_network(node_id)
        for param in t.params:
            editor = ParamEditor(param, resolved.get(param.name),
                                 lambda v, name=param.name: self._commit(node_id, name, v))
            self.editors[param.name] = editor
            if param.name in set_by:  # its value here is each instance's own
                editor.setEnabled(False)
                editor.setToolTip(set_by[param.name][1])
            if self.document.trail and param.network_param:
                form.addRow(form_label(param), self._with_network_switch(
                    editor, node_id, param.name, set_by.get(param.name)))
            else:
                form.addRow(form_label(param), editor)
        self.shares_combo = self._shares_combo(node_id)
        if self.shares_combo is not None:
            form.addRow("tied to", self.shares_combo)
        if level is self.document.graph and node.weights is not None:
            form.addRow("weights", weights_row(self.document, node_id))
        self.layout_.addLayout(form)
        if self.document.trail:
            self._network_ports(node_id)
        self._add_analysis_labels()
        self._refresh_groups()

    def _add_analysis_labels(self) -> None:
        """Parameter count, shapes, groups and problems: refreshed after each analysis."""
        self.count_label = QLabel()
        self.count_label.setObjectName("param_count")
        self.shapes_label = QLabel()
        self.shapes_label.setObjectName("node_shapes")
        self.shapes_label.setTextFormat(Qt.TextFormat.RichText)
        self.groups_label = QLabel()
        self.problems_label = QLabel()
        for w in (self.count_label, self.shapes_label, self.groups_label, self.problems_label):
            w.setWordWrap(True)
            self.layout_.addWidget(w)

    def _commit(self, node_id: str, name: str, value: Any) -> None:
        try:
            self.document.set_param(node_id, name, value)
        except ValueError as e:
            self.editors[name].set_error(str(e))

    def _shares_combo(self, node_id: str) -> QComboBox | None:
        """Which node of the same type this one takes its weights from (tied weights)."""
        graph = self.document.level
        node = graph.nodes[node_id]
        same = [n for n in graph.nodes.values()
                if n.type == node.type and n.id != node_id and not n.shares]
        if node.shares is None and (not has_weights(graph, node) or not same):
            return None  # a `shares` already set stays visible, so it can be cleared
        combo = QComboBox()
        combo.setObjectName("node_shares")
        combo.addItem("(own weights)", None)
        for other in same:
            combo.addItem(named(graph, other.id), other.id)
        if node.shares is not None and combo.findData(node.shares) < 0:
            combo.addItem(str(node.shares), node.shares)  # a broken tie, shown to be cleared
        combo.setCurrentIndex(max(0, combo.findData(node.shares)))
        combo.currentIndexChanged.connect(
            lambda i: self.document.set_shares(node_id, combo.itemData(i)))
        return combo

    def _sync_values(self) -> None:
        node = self.document.level.nodes[self.node_ids[0]]
        resolved = self.document.level.params_of(node.id)
        for name, editor in self.editors.items():
            editor.set_value(resolved.get(name))
        if self.label_edit.text() != (node.label or ""):
            self.label_edit.setText(node.label or "")
        if self.shares_combo is not None:
            self.shares_combo.blockSignals(True)
            self.shares_combo.setCurrentIndex(max(0, self.shares_combo.findData(node.shares)))
            self.shares_combo.blockSignals(False)

    def _refresh_groups(self) -> None:
        """The groups the node is in (itself, an instance around it, or a part inside it),
        and those that train its weights through the node it is tied to (a tied copy's
        weights are its original's)."""
        doc = self.document
        node_id = self.node_ids[0]
        path = (doc.prefix or "") + node_id
        original = doc.level.nodes[node_id].shares
        chips = []
        for g in doc.graph.groups:
            color = g.ui.get("color", "#888888")
            chip = f"<span style='color:{color}'>\u25a0</span> {html.escape(g.id)}"
            if path in g.losses or any(_covers(m, path) for m in g.members):
                chips.append(chip)
            elif any(str(m).startswith(path + SEPARATOR) for m in g.members):
                chips.append(f"{chip} (part of it)")
            elif original is not None and original in g.members:
                chips.append(f"{chip} (through {html.escape(named(doc.level, original))})")
        self.groups_label.setText("groups: " + (", ".join(chips) if chips else "none"))

    # --- several nodes, or none ----------------------------------------------------------
    def _build_many(self) -> None:
        self.layout_.addWidget(QLabel(f"<b>{len(self.node_ids)} nodes selected</b>"))
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        self.count_label.setObjectName("param_count")
        self.layout_.addWidget(self.count_label)
        self.layout_.addWidget(_muted(", ".join(self.node_ids)))

    def _build_graph(self) -> None:
        graph = self.document.graph
        self.layout_.addWidget(QLabel("<b>Graph</b>"))
        form = QFormLayout()
        self.name_edit = QLineEdit(graph.name)
        self.name_edit.setObjectName("graph_name")
        self.name_edit.textEdited.connect(lambda text: self.document.set_meta(name=text))
        self.description_edit = QPlainTextEdit(graph.description)
        self.description_edit.setObjectName("graph_description")
        self.description_edit.setMaximumHeight(90)
        self.description_edit.textChanged.connect(self._description_typed)
        form.addRow("name", self.name_edit)
        form.addRow("description", self.description_edit)
        self.layout_.addLayout(form)
        self._build_training()
        self.count_label = QLabel()
        self.count_label.setObjectName("param_count")
        self.layout_.addWidget(self.count_label)
        self.layout_.addWidget(_muted("Select a node to edit its parameters. Drag blocks from "
                                      "the palette; wire outputs (right) to inputs (left)."))

    def _build_training(self) -> None:
        """Epochs, seed, steps per epoch and device: saved with the graph, run by `composer
        train` and by the Training panel (whose epochs and device are these same values)."""
        training = self.document.graph.training
        self.layout_.addWidget(QLabel("<b>Training</b>"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for decl in validate.TRAINING:
            editor = ParamEditor(decl, getattr(training, decl.name),
                                 lambda v, name=decl.name: self._set_training(name, v))
            self.editors[decl.name] = editor
            form.addRow(form_label(decl), editor)
        self.device_box = DeviceBox()
        self.device_box.setObjectName("graph_device")
        self.device_box.set_device(str(training.device))
        self.device_box.setToolTip("where runs compute: auto is CUDA when available")
        self.device_box.currentTextChanged.connect(lambda d: self._set_training("device", d))
        form.addRow("device", self.device_box)
        self.layout_.addLayout(form)

    def _set_training(self, name: str, value: Any) -> None:
        try:
            self.document.set_meta(**{name: value})
        except GraphFormatError as e:
            if name in self.editors:
                self.editors[name].set_error(e.detail)
            else:
                self.document.message.emit(str(e))

    def _description_typed(self) -> None:
        text = self.description_edit.toPlainText()
        if text != self.document.graph.description:
            self.document.set_meta(description=text)

    def _sync_graph_fields(self) -> None:
        graph = self.document.graph
        if self.name_edit.text() != graph.name:
            self.name_edit.setText(graph.name)
        if self.description_edit.toPlainText() != graph.description:
            self.description_edit.blockSignals(True)
            self.description_edit.setPlainText(graph.description)
            self.description_edit.blockSignals(False)
        for name, editor in self.editors.items():
            editor.set_value(getattr(graph.training, name))
        self.device_box.blockSignals(True)
        self.device_box.set_device(str(graph.training.device))
        self.device_box.blockSignals(False)

    # --- analysis ------------------------------------------------------------------------
    def _refresh_analysis(self) -> None:
        doc = self.document
        counts = doc.shapes.param_counts if doc.shapes else {}
        if len(self.node_ids) == 1:
            self._refresh_node_analysis(self.node_ids[0])
        elif self.node_ids:
            total = sum(counts.get(n, 0) for n in self.node_ids)
            self.count_label.setText(f"{total:,} parameters in all")
        elif doc.trail:
            self.count_label.setText(f"{len(doc.level.nodes)} nodes inside")
        else:
            total = sum(doc.analysis.shapes.param_counts.values()) if doc.analysis else 0
            self.count_label.setText(f"{len(doc.graph.nodes)} nodes, {total:,} parameters")

    def _refresh_node_analysis(self, node_id: str) -> None:
        doc = self.document
        self.count_label.setText(describe_count(doc, node_id))
        lines = []
        if doc.shapes is not None:
            for port, info in doc.shapes.inputs.get(node_id, {}).items():
                lines.append(f"{port} \u2190 {format_shape(info.shape)}")
            t = doc.level.type_of(doc.level.nodes[node_id])
            outputs = t.output_ports(doc.level.params_of(node_id)) if t is not None else ()
            for port in outputs:
                info = doc.shapes.output(node_id, port.name)
                shown = format_shape(info.shape) if info else "?"
                lines.append(f"{port.name} \u2192 {shown}")
        mono = theme.MONO_FONT
        self.shapes_label.setText(f"<span style='font-family:{mono}'>" + "<br>".join(lines)
                                  + "</span>")
        problems = doc.node_diagnostics(node_id)
        for name, editor in self.editors.items():
            if not editor.error.text() or editor.error.property("from_check"):
                msg = next((d.message for d in problems if d.param == name), None)
                editor.set_error(msg)
                editor.error.setProperty("from_check", bool(msg))
        # Every problem not already shown under its own field: `shares` has no ParamEditor.
        self.problems_label.setText("<br>".join(
            f"<span style='color:{theme.severity_color(d.severity).name()}'>"
            f"{d.severity}</span>: {html.escape(place_of(d))}{html.escape(d.message)}"
            for d in problems if d.param not in self.editors))
