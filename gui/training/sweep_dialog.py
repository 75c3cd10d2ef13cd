"""Sweep…: pick one setting of the open graph, type its values, Start; each value trains as a
run of its own (listed with the graph's runs as it ends) and the results table beside fills in
as they finish, sorted by a metric (click a column's header to sort by it, again to turn the
order). The table is composer/sweep_record.py's, as `composer sweep` prints it."""

from __future__ import annotations

import os
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ComposerError
from composer.graph_diff import value_text
from composer.sweep import current_value, plan
from composer.sweep_record import default_metric, descending, metric_columns, sort_rows, table
from gui import theme
from gui.training.sweep_queue import SweepQueue
from gui.training.sweep_targets import TargetTree, safe_declaration

FIXED_COLUMNS = 4  # value, status, steps, duration; then the metrics, then the run


class SweepDialog(QDialog):
    def __init__(self, panel: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_dialog")
        self.setWindowTitle("Sweep")
        self.panel = panel
        self.queue: SweepQueue | None = None
        self.sort_key: Any = None  # None: the default metric; "value"; or (kind, loss node)
        self.reverse: bool | None = None  # None: the metric's natural order
        self._columns: list[tuple[str, str]] = []
        self.targets = TargetTree()
        self.targets.chosen.connect(self._target_chosen)
        self.target_text = QLabel(objectName="sweep_target", wordWrap=True)
        self.values = QLineEdit(objectName="sweep_values",
                                placeholderText="0.0005, 0.0002, 0.0001")
        self.values.returnPressed.connect(self.start)
        self.steps = QSpinBox(objectName="sweep_steps", minimum=0, maximum=100_000_000,
                              singleStep=100, specialValueText="all",
                              toolTip="each run stops after this many steps (all: every epoch)")
        self.parallel = QSpinBox(objectName="sweep_parallel", minimum=1,
                                 maximum=max(4, os.cpu_count() or 1),
                                 toolTip="1: one run after another, in the window, with its "
                                 "curves; more: that many `composer train` processes at once, "
                                 "sharing the cores (worth it when runs are long)")
        self.parallel.setEnabled(os.name == "posix")
        self.start_button = QPushButton("Start", objectName="sweep_start", default=True)
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", objectName="sweep_stop", enabled=False,
                                       toolTip="start no more runs; the one going stops "
                                       "after its step")
        self.stop_button.clicked.connect(self.stop)
        self.message = QLabel(objectName="sweep_message", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.results = QTableWidget(0, 0, objectName="sweep_results")
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.verticalHeader().hide()
        self.results.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.results.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.sectionClicked.connect(self._header_clicked)
        self.summary = QLabel(objectName="sweep_summary")
        self._layout()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Setting", self.target_text)
        form.addRow("Values", self.values)
        row = QHBoxLayout()
        for text, widget in (("Steps", self.steps), ("At a time", self.parallel)):
            row.addWidget(QLabel(text))
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addLayout(row)
        column.addWidget(self.message)
        column.addWidget(QLabel("<b>Results</b> (click a column's header to sort by it)"))
        column.addWidget(self.results, 1)
        column.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        split.addWidget(self.targets)
        split.addWidget(right)
        split.setSizes([250, 1070])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.resize(1320, 440)

    # --- choosing --------------------------------------------------------------------------
    def open_for(self, nodes: list[str], network: str | None) -> None:
        """Shows the dialog on the open graph's settings, the selected node's preselected."""
        if not self.running:
            self.targets.show_graph(self.panel.document.graph)
            self.targets.preselect(nodes, network)
            self.steps.setValue(self.panel.steps.value())
        self.show()
        self.raise_()
        self.activateWindow()
        self.values.setFocus()

    def _target_chosen(self, target: Any) -> None:
        if target is None:
            self.target_text.setText("choose one in the list")
            return
        graph = self.targets.graph
        now = value_text(current_value(graph, target))
        self.target_text.setText(f"<b>{escape(target.text)}</b> \u2014 now {escape(now)}; "
                                 f"{escape(safe_declaration(graph, target))}")

    @property
    def running(self) -> bool:
        return self.queue is not None and self.queue.running

    # --- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Checks every value (and every variant) first; a problem is said here, one line,
        and nothing starts."""
        if self.running:
            return
        target = self.targets.target()
        if target is None:
            return self._say("Choose the setting to vary in the list.", error=True)
        if self.panel.state != "idle":
            return self._say("A run is going on: let it end or stop it first.", error=True)
        document = self.panel.document
        try:
            sweep = plan(document.graph, target, self.values.text())
            self.queue = SweepQueue(self.panel, sweep, graph_file=None if document.dirty
                                    else document.path, steps=self.steps.value() or None,
                                    parallel=self.parallel.value())
        except ComposerError as e:
            return self._say(str(e), error=True)
        except OSError as e:
            return self._say(f"Cannot write the sweep's record: {e.strerror or e}", error=True)
        self.sort_key, self.reverse = None, None
        self.queue.changed.connect(self.refresh)
        self.queue.finished.connect(self._finished)
        self._set_running(True)
        count = len(sweep.variants)
        self._say(f"Sweeping {target.text} over {count} value{'s' * (count != 1)}; record "
                  f"{self.queue.book.path.name}")
        self.queue.start()
        self.refresh()

    def stop(self) -> None:
        if self.running:
            self.queue.stop()
            self._say("Stopping: no more runs start; the one going stops after its step.")

    def shutdown(self, seconds: float) -> None:
        if self.running:
            self.queue.wait(seconds)

    def _finished(self, status: str) -> None:
        self._set_running(False)
        self.refresh()
        failed = sum(r.status == "failed" for r in self.queue.rows())
        self._say(f"Sweep {status}" + (f": {failed} run{'s' * (failed != 1)} failed (hover "
                                       "its status for why)" if failed else "."),
                  error=status == "failed")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.targets, self.values, self.steps, self.parallel):
            widget.setEnabled(not running)
        self.parallel.setEnabled(not running and os.name == "posix")

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        color = theme.ERROR_COLOR.name() if error else "palette(window-text)"
        self.message.setStyleSheet(f"color: {color};")

    # --- the table -------------------------------------------------------------------------
    def sort_metric(self) -> tuple[Any, bool]:
        """(what the table is sorted by: "value" or a metric or None, descending?)."""
        rows = self.queue.rows() if self.queue is not None else []
        key = default_metric(rows) if self.sort_key is None else self.sort_key
        metric = None if key == "value" else key
        reverse = self.reverse if self.reverse is not None else descending(metric)
        return key, reverse

    def refresh(self) -> None:
        if self.queue is None:
            return
        rows = self.queue.rows()
        self._columns = metric_columns(rows)
        key, reverse = self.sort_metric()
        ordered = sort_rows(rows, None if key == "value" else key, reverse)
        header, cells = table(ordered, self._columns)
        t = self.results
        t.setColumnCount(len(header))
        t.setHorizontalHeaderLabels(header)
        t.setRowCount(len(cells))
        for r, (row, texts) in enumerate(zip(ordered, cells, strict=True)):
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if c != 1 and c < len(texts) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, item)
            self._mark(r, row, key)
        t.resizeColumnsToContents()
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        column = self._column_of(key)
        order = Qt.SortOrder.DescendingOrder if reverse else Qt.SortOrder.AscendingOrder
        t.horizontalHeader().setSortIndicator(column if column is not None else -1, order)
        done = sum(r.status not in ("queued", "starting", "running") for r in rows)
        sort = f"; sorted by {header[column]}, {'highest' if reverse else 'lowest'} first" \
            if column is not None else ""
        self.summary.setText(f"{done} of {len(rows)} runs done{sort}")

    def _mark(self, r: int, row: Any, key: Any) -> None:
        """The failed status in red with its message; the best result in bold."""
        status = self.results.item(r, 1)
        if row.status == "failed":
            status.setForeground(QBrush(theme.ERROR_COLOR))
            error = row.run.record.error if row.run is not None else None
            status.setToolTip((error or {}).get("message", ""))
        column = self._column_of(key)
        if r == 0 and key not in (None, "value") and row.metric(*key) is not None:
            item = self.results.item(r, column)
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)

    def _column_of(self, key: Any) -> int | None:
        if key == "value":
            return 0
        if key in self._columns:
            return FIXED_COLUMNS + self._columns.index(key)
        return None

    def column_titles(self) -> list[str]:
        t = self.results
        return [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]

    def _header_clicked(self, column: int) -> None:
        """A metric's column (or the value's) sorts by it; clicked again, the other way."""
        if column == 0:
            key = "value"
        elif FIXED_COLUMNS <= column < FIXED_COLUMNS + len(self._columns):
            key = self._columns[column - FIXED_COLUMNS]
        else:
            self.refresh()  # put the indicator back where the order is
            return
        current, reverse = self.sort_metric()
        self.sort_key = key
        self.reverse = (not reverse) if key == current else None
        self.refresh()
