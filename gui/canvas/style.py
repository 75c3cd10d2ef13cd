"""Fonts, pens and brushes of the canvas, built once per palette instead of once per paint.

Items call `style()` while painting; the scene calls `refresh()` when the palette changes and
then repaints, so nothing in a paint method allocates a colour or a font.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen

from gui import theme


def _font(size: float, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont(theme.MONO_FONT) if mono else QFont()
    if mono:
        font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


def _pixel_font(pixels: int, bold: bool = False, mono: bool = False) -> QFont:
    font = QFont(theme.MONO_FONT) if mono else QFont()
    if mono:
        font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


def readable_on(color: QColor) -> QColor:
    """White or near-black, whichever reads better on `color` (a header, a badge)."""
    r, g, b = color.redF(), color.greenF(), color.blueF()
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor("#15181c") if luminance > 0.6 else QColor("#ffffff")


def faded(color: QColor, alpha: float) -> QColor:
    c = QColor(color)
    c.setAlphaF(alpha)
    return c


@dataclass
class Style:
    """Everything the items paint with, for the current palette."""

    dark: bool
    background: QColor
    grid_minor: QPen
    grid_major: QPen
    body: QBrush
    text: QColor
    dim_text: QColor
    shape_text: QColor
    border: QPen
    hover_border: QPen
    selected_border: QPen
    error_border: QPen
    separator: QPen
    edge_width: float
    title_font: QFont
    type_font: QFont
    port_font: QFont
    param_font: QFont
    shape_font: QFont
    badge_font: QFont
    group_font: QFont
    banner_font: QFont
    band_font: QFont
    summary_title_font: QFont
    summary_shape_font: QFont
    summary_font: QFont
    selection: QColor
    shadow: QColor


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(False)
    return pen


def _build() -> Style:
    p = theme.current()
    dark = theme.is_dark()
    text = QColor(p.node_text)
    dim = faded(text, 0.62)
    major = QColor(p.grid).darker(104) if not dark else QColor(p.grid).lighter(112)
    minor = _pen(faded(p.grid, 0.5), 0)
    minor.setCosmetic(True)
    major_pen = _pen(major, 0)
    major_pen.setCosmetic(True)
    return Style(
        dark=dark, background=QColor(p.background), grid_minor=minor, grid_major=major_pen,
        body=QBrush(p.node_body), text=text, dim_text=dim, shape_text=QColor(p.shape_text),
        border=_pen(p.node_border, 1.0), hover_border=_pen(QColor(p.selection).lighter(130), 1.5),
        selected_border=_pen(p.selection, 2.4), error_border=_pen(theme.ERROR_COLOR, 1.6),
        separator=_pen(faded(p.node_border, 0.45), 1.0), edge_width=2.2,
        title_font=_font(9.5, bold=True), type_font=_font(7.5), port_font=_font(8),
        param_font=_font(8), shape_font=_font(7.5, mono=True), badge_font=_font(7.5, bold=True),
        group_font=_font(10, bold=True), banner_font=_font(10, bold=True),
        band_font=_pixel_font(19, bold=True), summary_title_font=_pixel_font(20, bold=True),
        summary_shape_font=_pixel_font(19, mono=True), summary_font=_pixel_font(18),
        selection=QColor(p.selection), shadow=QColor(0, 0, 0, 70 if dark else 28),
    )


_STYLE: Style | None = None


def style() -> Style:
    global _STYLE
    if _STYLE is None:
        _STYLE = _build()
    return _STYLE


def refresh() -> Style:
    """Rebuilds the style from the palette now in use."""
    global _STYLE
    _STYLE = _build()
    return _STYLE
