"""Where a classifier goes wrong, on the Results tab: for the chosen cross-entropy loss, its
confusion matrix on the validation split as a heat table of counts (recall per true class,
precision per predicted class, accuracy in the corner) and the validation images it got
wrong most confidently ("true 3 / pred 8 (0.97)")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # numpy and torch load with the first run, not with the window
    import numpy as np

    from composer.confusion import Confusion, Mistake

RIGHT = QColor("#2b7bb9")  # the diagonal: rows predicted as their class
WRONG = QColor("#d64541")  # elsewhere: rows predicted as another class
TILE_PX = 56  # the longer side of a mistake's picture


def _percent(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.0f} %"


def _mixed(base: QColor, accent: QColor, amount: float) -> QColor:
    """`accent` laid over `base` with this opacity (0..1)."""
    return QColor.fromRgbF(*(b + (a - b) * amount for b, a in
                             zip(base.getRgbF()[:3], accent.getRgbF()[:3], strict=True)))


class ConfusionTable(QTableWidget):
    """Counts, rows the true class and columns the predicted one; each cell shaded by its
    share of the row, so a class's mistakes stand out however many rows it has."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setObjectName("confusion_matrix")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setHighlightSections(False)

    def show_confusion(self, c: Confusion) -> None:
        k = len(c.classes)
        self.clear()
        self.setRowCount(k + 1)
        self.setColumnCount(k + 1)
        self.setHorizontalHeaderLabels([f"pred {n}" for n in c.classes] + ["recall"])
        self.setVerticalHeaderLabels([f"true {n}" for n in c.classes] + ["precision"])
        base = self.palette().color(QPalette.ColorRole.Base)
        rows = c.counts.sum(axis=1)
        for t in range(k):
            for p in range(k):
                count = int(c.counts[t, p])
                share = count / rows[t] if rows[t] else 0.0
                self._put(t, p, str(count), _mixed(base, RIGHT if t == p else WRONG,
                                                   0.85 * share) if count else None,
                          f"{count} rows of class {c.classes[t]} predicted as {c.classes[p]}")
        for i, (recall, precision) in enumerate(zip(c.recall(), c.precision(), strict=True)):
            self._put(i, k, _percent(recall), None, f"recall of class {c.classes[i]}")
            self._put(k, i, _percent(precision), None, f"precision of class {c.classes[i]}")
        self._put(k, k, _percent(c.accuracy), None,
                  f"accuracy: {int(c.counts.trace())} of {c.total} rows right")

    def _put(self, row: int, column: int, text: str, color: QColor | None, tip: str) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(tip)
        if color is not None:
            item.setBackground(color)
            light = color.lightnessF() > 0.55
            item.setForeground(QColor("#1f2328") if light else QColor("#ffffff"))
        self.setItem(row, column, item)

    def count(self, true: int, predicted: int) -> int:
        """The number shown for this pair of classes."""
        return int(self.item(true, predicted).text())


def image_pixmap(image: np.ndarray, px: int = TILE_PX) -> QPixmap:
    """A [C,H,W] float image (1 or 3 channels) as a pixmap whose longer side is `px`; small
    images are enlarged as blocks of pixels, not blurred."""
    import numpy as np

    from composer.runtime.board import preview_images

    shown = preview_images(image[None])[0]  # values in [0,1], as TensorBoard shows them
    pixels = np.ascontiguousarray((shown * 255).round().astype(np.uint8))
    h, w = pixels.shape[1:]
    if pixels.shape[0] == 1:
        qimage = QImage(pixels[0].tobytes(), w, h, w, QImage.Format.Format_Grayscale8)
    else:
        rgb = np.ascontiguousarray(pixels.transpose(1, 2, 0))
        qimage = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888)
    mode = (Qt.TransformationMode.FastTransformation if max(h, w) < px
            else Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(qimage.copy()).scaled(px, px, Qt.AspectRatioMode.KeepAspectRatio,
                                                  mode)


class MistakeTile(QFrame):
    """One misclassified row: its picture (when its input is an image) and what was wrong."""

    def __init__(self, m: Mistake, classes: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mistake")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.picture = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        if m.image is not None:
            self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            self.picture.setPixmap(image_pixmap(m.image))
            layout.addWidget(self.picture)
        text = f"true {classes[m.true]} / pred {classes[m.predicted]} ({m.probability:.2f})"
        self.caption = QLabel(text if m.image is not None else f"row {m.row}: {text}",
                              alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.caption)
        self.setToolTip(f"validation row {m.row}: the model gave class {classes[m.predicted]} "
                        f"a probability of {m.probability:.3f}; it is {classes[m.true]}")


class MistakeGrid(QScrollArea):
    """The worst mistakes of one loss, most confident first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusion_mistakes")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.tiles: list[MistakeTile] = []
        self._fill = QWidget()
        self._grid = QGridLayout(self._fill)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._fill)

    def show_mistakes(self, mistakes: list[Mistake], classes: list[str]) -> None:
        for tile in self.tiles:
            tile.deleteLater()
        self.tiles = [MistakeTile(m, classes, self._fill) for m in mistakes]
        self._place()

    def _place(self) -> None:
        """As many tiles a row as the width holds."""
        if not self.tiles:
            return
        spacing = self._grid.horizontalSpacing()
        wide = max(t.sizeHint().width() for t in self.tiles) + spacing
        columns = max(1, (self.viewport().width() + spacing) // wide)
        for tile in self.tiles:
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles):
            self._grid.addWidget(tile, i // columns, i % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()


class ConfusionView(QWidget):
    """The confusion of each cross-entropy loss of a run, one at a time (a list chooses)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusion_view")
        self.confusions: list[Confusion] = []
        self.choice = QComboBox(objectName="confusion_loss")
        self.choice.setToolTip("the cross-entropy loss whose classes are shown")
        self.choice.currentIndexChanged.connect(self._show_current)
        self.summary = QLabel(objectName="confusion_summary", wordWrap=True)
        self.matrix = ConfusionTable()
        self.mistakes = MistakeGrid()
        self.mistakes_title = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.choice)
        top.addWidget(self.summary, 1)
        worst = QVBoxLayout()
        worst.addWidget(self.mistakes_title)
        worst.addWidget(self.mistakes, 1)
        body = QHBoxLayout()
        body.addWidget(self.matrix, 3)
        body.addLayout(worst, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    def show_confusions(self, confusions: list[Confusion], problem: str = "") -> None:
        """The matrices of a run or an evaluation; `problem` says why there are none."""
        self.confusions = confusions
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems([f"{c.loss}" for c in confusions])
        self.choice.blockSignals(False)
        self.choice.setVisible(len(confusions) > 1)
        self.setVisible(bool(confusions or problem))
        if confusions:
            self._show_current(0)
        else:
            self.matrix.clear()
            self.matrix.setRowCount(0)
            self.mistakes.show_mistakes([], [])
            self.mistakes_title.setText("")
            self.summary.setText(f"No confusion matrix: {problem}" if problem else "")

    def _show_current(self, index: int) -> None:
        if not 0 <= index < len(self.confusions):
            return
        c = self.confusions[index]
        self.matrix.show_confusion(c)
        self.mistakes.show_mistakes(c.mistakes, c.classes)
        right = f"{c.accuracy * 100:.1f} %" if c.accuracy is not None else "\u2013"
        self.summary.setText(f"{c.loss} on the validation split: {right} right "
                             f"({int(c.counts.trace())} of {c.total} rows). Rows: the true "
                             "class; columns: the predicted one.")
        pictures = f" (pictures: {c.image})" if c.image else ""
        self.mistakes_title.setText(f"Most confident mistakes{pictures}" if c.mistakes
                                    else "No mistakes.")
