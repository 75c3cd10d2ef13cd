"""Pictures of previewed outputs, drawn straight from numpy arrays into QImages.

The form follows the tensor: a grid of images for [B,1|3,H,W] (and [B,H,W]), the feature
maps of the first image for other [B,C,H,W], boxes drawn over their images for [B,4] boxes,
bars of class scores for [B,K], one bar per row for [B] and [B,1], a number for a scalar. An
output holds at most 16 rows, so a picture is built in a few milliseconds: pixels are scaled
up by repeating them in numpy, and only boxes, bars and text go through QPainter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

BOX_COLOR = QColor("#ff1f8e")  # no grey image holds it, and it reads on black and white
CELL = 56  # pixels an image is drawn at, at least, when it is smaller
FIT_WIDTH = 300  # pixels a grid of small images is scaled up to fill, at most
GAP = 2  # pixels between images of a grid
MAX_MAPS = 64  # feature maps of one image drawn, at most
SCORE_ROWS = 4  # rows whose class scores are drawn
MAX_BARS = 64  # class scores drawn per row, at most


@dataclass(frozen=True)
class Colors:
    """The surfaces a picture is drawn on: those of the panel, light or dark."""

    background: QColor
    text: QColor
    bar: QColor
    accent: QColor
    gap: QColor


def form_of(shape: tuple[int, ...], image_shape: tuple[int, ...] | None = None) -> str:
    """How an output of this shape is shown: "images", "maps", "boxes" (when `image_shape`,
    the shape of the images its boxes belong on, fits), "scores", "values" or "number";
    "summary" for other shapes."""
    rank = len(shape)
    if rank == 0:
        return "number"
    if rank == 4:
        return "images" if shape[1] in (1, 3) else "maps"
    if rank == 3:
        return "images"
    if rank == 2 and shape[1] == 4 and image_shape is not None and len(image_shape) == 4 \
            and image_shape[1] in (1, 3) and image_shape[0] >= shape[0]:
        return "boxes"
    if rank == 2 and shape[1] > 1:
        return "scores"
    if rank in (1, 2):
        return "values"
    return "summary"


def caption(form: str, shape: tuple[int, ...], image_ref: str | None = None) -> str:
    """What a picture of this form shows, for the line above it."""
    n = shape[0] if shape else 0
    if form == "images":
        return f"{n} image{'s' * (n != 1)}"
    if form == "maps":
        shown = min(shape[1], MAX_MAPS)
        return f"image 0's {shown}{f' of {shape[1]}' if shown < shape[1] else ''} maps"
    if form == "boxes":
        return f"{n} box{'es' * (n != 1)} on {image_ref}"
    if form == "scores":
        shown = min(shape[1], MAX_BARS)
        return (f"rows 0-{min(n, SCORE_ROWS) - 1}, "
                f"{shown}{f' of {shape[1]}' if shown < shape[1] else ''} scores each")
    if form == "values":
        return f"{n} row{'s' * (n != 1)}"
    return form


def render(array: np.ndarray, colors: Colors, image: np.ndarray | None = None) -> QImage:
    """The picture of one output; `image` holds the images its boxes are drawn over."""
    form = form_of(array.shape, None if image is None else image.shape)
    if form == "images":
        return image_grid(array if array.ndim == 4 else array[:, None], colors)
    if form == "maps":
        return feature_maps(array, colors)
    if form == "boxes":
        return boxes_over(image[:len(array)], array, colors)
    if form == "scores":
        return score_bars(array, colors)
    if form == "values":
        return value_bars(array.reshape(len(array)), colors)
    if form == "number":
        return text_image([f"{float(array):.6g}"], colors, size=20)
    return text_image(summary_lines(array), colors)


def summary_lines(array: np.ndarray) -> list[str]:
    return [f"shape {list(array.shape)}",
            f"mean {array.mean():.4g}  std {array.std():.4g}",
            f"min {array.min():.4g}  max {array.max():.4g}"]


def to_bytes(x: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Values scaled from their range (over `axes`; all by default) to 0..255; constant
    values give 0."""
    x = np.nan_to_num(x.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if not x.size:
        return x.astype(np.uint8)
    low = x.min(axis=axes, keepdims=True)
    span = x.max(axis=axes, keepdims=True) - low
    scale = np.divide(255.0, span, out=np.zeros_like(span), where=span > 0)
    return ((x - low) * scale).astype(np.uint8)


def _columns(n: int) -> int:
    return max(1, math.ceil(math.sqrt(n)))


def _tiles(cells: np.ndarray, colors: Colors) -> tuple[np.ndarray, int, int]:
    """uint8 cells [N,h,w,3] laid out in a near-square grid with gaps: (pixels [H,W,3],
    columns, cell size with its gap)."""
    n, h, w, _ = cells.shape
    cols = _columns(n)
    rows = max(1, math.ceil(n / cols))
    full = np.empty((rows * cols, h + GAP, w + GAP, 3), np.uint8)
    full[:] = (colors.gap.red(), colors.gap.green(), colors.gap.blue())
    full[:n, :h, :w] = cells
    grid = full.reshape(rows, cols, h + GAP, w + GAP, 3).transpose(0, 2, 1, 3, 4)
    pixels = grid.reshape(rows * (h + GAP), cols * (w + GAP), 3)[:-GAP, :-GAP]
    return pixels, cols, h + GAP


def _scaled(cells: np.ndarray) -> np.ndarray:
    """Cells [N,h,w,3] repeated (nearest neighbour) up to CELL pixels, or to what fills
    FIT_WIDTH in the grid's columns when that is less."""
    size = max(cells.shape[1], cells.shape[2])
    room = (FIT_WIDTH - GAP * (_columns(len(cells)) - 1)) // _columns(len(cells))
    factor = max(1, min(round(CELL / size), room // size))
    if factor == 1:
        return cells
    return cells.repeat(factor, axis=1).repeat(factor, axis=2)


def _qimage(pixels: np.ndarray) -> QImage:
    pixels = np.ascontiguousarray(pixels)
    h, w, _ = pixels.shape
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _cells(x: np.ndarray) -> np.ndarray:
    """Images [N,1|3,H,W], normalised over the whole tensor, as RGB cells [N,H,W,3]."""
    pixels = to_bytes(x).transpose(0, 2, 3, 1)
    return pixels.repeat(3, axis=3) if pixels.shape[3] == 1 else pixels


def image_grid(x: np.ndarray, colors: Colors) -> QImage:
    """The images in a grid, grey or RGB, normalised over the whole tensor."""
    pixels, _, _ = _tiles(_scaled(_cells(x)), colors)
    return _qimage(pixels)


def feature_maps(x: np.ndarray, colors: Colors) -> QImage:
    """The first image's channels (MAX_MAPS at most) in a grid, each normalised on its own so
    that a quiet channel still shows its pattern."""
    cells = to_bytes(x[0, :MAX_MAPS], axes=(1, 2))[..., None].repeat(3, axis=3)
    pixels, _, _ = _tiles(_scaled(cells), colors)
    return _qimage(pixels)


def boxes_over(images: np.ndarray, boxes: np.ndarray, colors: Colors) -> QImage:
    """Each image with its box (x0, y0, x1, y1 in [0,1] of the image) drawn in BOX_COLOR."""
    cells = _scaled(_cells(images))
    pixels, cols, pitch = _tiles(cells, colors)
    picture = _qimage(pixels)
    size = cells.shape[1]
    painter = QPainter(picture)
    painter.setPen(QPen(BOX_COLOR, 2))
    for i, (x0, y0, x1, y1) in enumerate(np.clip(np.nan_to_num(boxes), 0.0, 1.0)):
        r, c = divmod(i, cols)
        left, top = c * pitch, r * pitch
        painter.drawRect(QRectF(left + x0 * size, top + y0 * size,
                                max(1.0, (x1 - x0) * size), max(1.0, (y1 - y0) * size)))
    painter.end()
    return picture


def _rgb(color: QColor) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


def _bars(values: np.ndarray, low: float, high: float, height: int, bar: int,
          colors: Colors, best: int | None = None) -> np.ndarray:
    """Pixels [height, n*bar, 3] of one bar per value from the zero line, on a scale from
    `low` to `high`; bar `best` in the accent colour. Drawn in numpy: one array, however many
    bars."""
    span = (high - low) or 1.0
    ends = height * (high - values.astype(np.float64)) / span
    zero = height * high / span
    top = np.minimum(ends, zero)
    bottom = np.maximum(np.maximum(ends, zero), top + 1)  # a zero still shows as a line
    which = np.repeat(np.arange(len(values)), bar)  # the value each column of pixels shows
    rows = np.arange(height)[:, None]
    gaps = np.arange(len(which)) % bar == bar - 1
    inside = (rows >= top[which]) & (rows < bottom[which]) & ~gaps
    pixels = np.empty((height, len(which), 3), np.uint8)
    pixels[:] = _rgb(colors.background)
    pixels[inside] = _rgb(colors.bar)
    if best is not None:
        mine = inside & (which == best)
        pixels[mine] = _rgb(colors.accent)
    return pixels


def _labelled(pixels: np.ndarray, labels: list[tuple[QRectF, str]], colors: Colors) -> QImage:
    """The pixels as an image, with a few labels written on it."""
    picture = _qimage(pixels)
    painter = QPainter(picture)
    font = QFont()
    font.setPixelSize(11)
    painter.setFont(font)
    painter.setPen(colors.text)
    for rect, text in labels:
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, text)
    painter.end()
    return picture


def score_bars(x: np.ndarray, colors: Colors) -> QImage:
    """Class scores of the first rows: a bar per class from zero, the highest in the accent
    colour; one scale for all rows, so they compare."""
    rows = x[:SCORE_ROWS, :MAX_BARS]
    k = rows.shape[1]
    bar = max(4, min(24, 200 // k))
    low, high = min(0.0, float(rows.min())), max(0.0, float(rows.max()))
    pixels = np.empty((46 * len(rows), 40 + k * bar, 3), np.uint8)
    pixels[:] = _rgb(colors.background)
    labels = []
    for r, row in enumerate(rows):
        top = r * 46 + 6
        pixels[top:top + 34, 40:] = _bars(row, low, high, 34, bar, colors, int(np.argmax(row)))
        labels.append((QRectF(4, top, 34, 34), f"#{r}"))
    return _labelled(pixels, labels, colors)


def value_bars(values: np.ndarray, colors: Colors) -> QImage:
    """One bar per row, from zero, with the range written beside them."""
    n = len(values)
    low, high = min(0.0, float(values.min(initial=0.0))), max(0.0, float(values.max(initial=0.0)))
    pixels = np.empty((60, n * 10 + 80, 3), np.uint8)
    pixels[:] = _rgb(colors.background)
    pixels[6:54, :n * 10] = _bars(values, low, high, 48, 10, colors)
    return _labelled(pixels, [(QRectF(n * 10 + 6, 0, 74, 16), f"{high:.3g}"),
                              (QRectF(n * 10 + 6, 44, 74, 16), f"{low:.3g}")], colors)


def text_image(lines: list[str], colors: Colors, size: int = 12) -> QImage:
    height = size + 8
    picture = QImage(max(120, 9 * size * max(len(t) for t in lines) // 12 + 16),
                     height * len(lines) + 4, QImage.Format.Format_RGB32)
    picture.fill(colors.background)
    painter = QPainter(picture)
    font = QFont()
    font.setPixelSize(size)
    painter.setFont(font)
    painter.setPen(colors.text)
    for i, line in enumerate(lines):
        painter.drawText(QRectF(6, 2 + i * height, picture.width() - 8, height),
                         Qt.AlignmentFlag.AlignVCenter, line)
    painter.end()
    return picture
