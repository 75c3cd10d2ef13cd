"""Previews beside the training curves: what each watched output produces.

One card per output the graph watches (`ui.watch`), drawn from the run's preview events in
the form that fits the tensor (gui.training.preview_images). A slider goes back over the
previews the run has sent; at its right end the newest shows as it comes. Preview now asks a
running run for one at its next step, or computes one from the trained model once the run is
over. Each card's picture saves as PNG. Drawing a preview is timed (`timings_ms`): it runs on
the GUI thread, so it must stay far below what a user would feel.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.analysis.shapes import format_shape
from gui import theme
from gui.training.preview_images import Colors, caption, form_of, render

MAX_KEPT = 200  # previews kept of a run; past that, every second older one goes
MAX_WIDTH = 220  # pixels a picture is shown at, at most (saved at its full size): the
# curves beside it need the width more


def colors_of(widget: QWidget) -> Colors:
    palette = widget.palette()
    return Colors(background=palette.color(QPalette.ColorRole.Base),
                  text=palette.color(QPalette.ColorRole.Text),
                  bar=QColor("#8c96a0"), accent=theme.HINT_COLOR,
                  gap=palette.color(QPalette.ColorRole.Mid))


class PreviewCard(QFrame):
    """One watched output: its name and shape, its picture, why it has none, Save PNG."""

    def __init__(self, ref: str, image_ref: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName=f"preview_{ref}")
        self.ref, self.image_ref = ref, image_ref
        self.image: QImage | None = None
        self.title = QLabel(f"<b>{ref}</b>")
        self.detail = QLabel(objectName="preview_detail")
        self.detail.setStyleSheet("color: palette(mid);")
        self.picture = QLabel(objectName="preview_picture")
        self.note = QLabel(objectName="preview_note", wordWrap=True)
        self.save_button = QToolButton(text="Save PNG\u2026", objectName="preview_save",
                                       toolTip="save this picture, at its full size, as a "
                                       "PNG file")
        self.save_button.clicked.connect(lambda: self.save_png())
        self.save_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.detail)
        layout.addWidget(self.picture)
        layout.addWidget(self.note)

    def show_outputs(self, outputs: dict[str, np.ndarray], notes: dict[str, str],
                     colors: Colors, waiting: str) -> None:
        """Draws this output of one preview, or says why there is nothing to draw."""
        array = outputs.get(self.ref)
        if array is None:
            self.image = None
            self.picture.clear()
            self.detail.setText("")
            self._say(notes.get(self.ref, waiting))
            return
        image = outputs.get(self.image_ref) if self.image_ref else None
        form = form_of(array.shape, None if image is None else image.shape)
        self.image = render(array, colors, image)
        pixmap = QPixmap.fromImage(self.image)
        if pixmap.width() > MAX_WIDTH:
            pixmap = pixmap.scaledToWidth(MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
        self.picture.setPixmap(pixmap)
        shown = format_shape(array.shape) if array.ndim else "scalar"
        self.detail.setText(f"{shown} \u00b7 {caption(form, array.shape, self.image_ref)}")
        self._say("")

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.save_button.setEnabled(self.image is not None)

    def save_png(self, path: str | Path | None = None) -> Path | None:
        """Writes the picture as PNG; asks where when no path is given."""
        if self.image is None:
            return None
        if path is None:
            name = self.ref.replace(".", "_") + ".png"
            path, _ = QFileDialog.getSaveFileName(self, "Save preview", name,
                                                  "PNG images (*.png)")
            if not path:
                return None
        if not self.image.save(str(path), "PNG"):
            self._say(f"Cannot write {path}.")
            return None
        return Path(path)


class PreviewsView(QWidget):
    """The cards of the watched outputs and the previews a run has sent."""

    preview_requested = Signal()  # Preview now was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="training_previews")
        self.records: list[dict[str, Any]] = []
        self.cards: dict[str, PreviewCard] = {}
        self.timings_ms: list[float] = []  # GUI time of each preview drawn
        self.waiting = "Shown after the first epoch."
        self._shown: int | None = None
        self.now_button = QToolButton(text="Preview now", objectName="preview_now",
                                      toolTip="compute the watched outputs now: at the run's "
                                      "next step, or from the trained model")
        self.now_button.clicked.connect(self.preview_requested)
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="preview_slider",
                              toolTip="go back over the previews of this run")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._slid)
        self.when = QLabel(objectName="preview_when")
        self.message = QLabel(objectName="preview_message", wordWrap=True)
        self.message.hide()
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 0, 0)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._column)
        outer.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Previews</b>"))
        header.addStretch(1)
        header.addWidget(self.now_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.when)  # a line of its own: the column is narrow
        layout.addWidget(self.slider)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)
        self.setMinimumWidth(MAX_WIDTH + 60)
        self.hide()

    # --- what is watched -----------------------------------------------------------------
    def set_plan(self, plan: dict[str, dict[str, Any]]) -> None:
        """One card per watched output, in order (`image`: the output its boxes go on);
        hidden when nothing is watched."""
        wanted = [(ref, how["image"]) for ref, how in plan.items()]
        if [(c.ref, c.image_ref) for c in self.cards.values()] != wanted:
            for card in self.cards.values():
                card.setParent(None)
                card.deleteLater()
            self.cards = {ref: PreviewCard(ref, image) for ref, image in wanted}
            for card in self.cards.values():
                self._column.addWidget(card)
            self._draw()
        self.setVisible(bool(plan))

    def say(self, text: str) -> None:
        """A line above the cards (why Preview now cannot do what was asked)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # --- previews ------------------------------------------------------------------------
    def clear(self, waiting: str = "Shown after the first epoch.") -> None:
        """A new run: no previews yet; `waiting` says when they will come."""
        self.records.clear()
        self.waiting = waiting
        self._shown = None
        self.say("")
        self._update_slider()
        self._draw()

    def add(self, *events: dict[str, Any]) -> None:
        """Preview events: kept, and the newest shown when the slider is at the newest (drawn
        once, however many came since the last redraw)."""
        following = self._shown is None or self._shown == len(self.records) - 1
        shown = self.records[self._shown] if self._shown is not None else None
        self.records += events
        while len(self.records) > MAX_KEPT:
            del self.records[1:-MAX_KEPT // 2:2]  # thin the past out; the newest stay
        kept = any(r is shown for r in self.records)
        if following or not kept:
            self._shown = len(self.records) - 1
        else:
            self._shown = next(i for i, r in enumerate(self.records) if r is shown)
        self._update_slider()
        if following or not kept:
            self._draw()

    def _update_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.records) - 1))
        self.slider.setValue(self._shown or 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.records) > 1)

    def _slid(self, value: int) -> None:
        if self.records:
            self._shown = value
            self._draw()

    def _draw(self) -> None:
        """Every card from the record the slider points at (timed: it is GUI-thread work)."""
        started = time.perf_counter()
        record = self.records[self._shown] if self._shown is not None and self.records else {}
        colors = colors_of(self)
        for card in self.cards.values():
            card.show_outputs(record.get("outputs", {}), record.get("notes", {}), colors,
                              self.waiting)
        self.when.setText(_when(record))
        if record:
            self.timings_ms.append(1000 * (time.perf_counter() - started))


def _when(record: dict[str, Any]) -> str:
    """`epoch 3 · step 65`, `asked at step 40`, or `the trained model`."""
    if not record:
        return ""
    if record.get("epoch") is None:
        return "the trained model"
    where = f"epoch {record['epoch'] + 1} \u00b7 step {record['step'] + 1}"
    return f"{where} (asked)" if record.get("asked") else where
