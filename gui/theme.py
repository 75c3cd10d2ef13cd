"""The one visual language of the application: colours, glyphs and fonts.

Node headers are coloured by category, ports and edges by what flows through them, so a wrong
wire looks wrong before it is refused. Light and dark palettes share every accent colour; only
the surfaces change.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor

# Header colours by node category (colour-blind-safe hues, readable with white text).
CATEGORY_COLORS: dict[str, QColor] = {
    "data": QColor("#2b7bb9"),
    "layer": QColor("#4a8c5c"),
    "block": QColor("#2e6e4a"),
    "merge": QColor("#8a5bb0"),
    "op": QColor("#7a7a7a"),
    "loss": QColor("#c0392b"),
    "network": QColor("#1f6f8b"),
}

# One character per category, drawn in the node header and the palette.
CATEGORY_GLYPHS: dict[str, str] = {
    "data": "\u25a4",   # square with horizontal fill: a table of samples
    "layer": "\u25ad",  # rectangle: one layer
    "block": "\u25a3",  # square in square: a block of layers
    "merge": "\u2295",  # circled plus
    "op": "\u2218",     # ring operator
    "loss": "\u03a3",   # sigma: the objective
    "network": "N",  # as an instance node's own glyph (composer.networks)
}

# Port and edge colours by what flows through them.
KIND_COLORS: dict[str, QColor] = {
    "map": QColor("#e08a1e"),     # feature maps [B,C,H,W]
    "vector": QColor("#3a9bd9"),  # [B,F]
    "tensor": QColor("#9e9e9e"),  # anything
    "label": QColor("#2fa37a"),   # integer class labels
    "boxes": QColor("#c2a000"),   # [B,4] boxes
    "loss": QColor("#d64541"),    # a scalar loss
}

# Colours handed to new optimiser groups in turn (ColorBrewer Dark2).
GROUP_PALETTE: list[str] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                            "#e6ab02", "#a6761d", "#666666"]

ERROR_COLOR = QColor("#d32f2f")
WARNING_COLOR = QColor("#f0a000")
HINT_COLOR = QColor("#3a7bd5")

MONO_FONT = "monospace"


@dataclass(frozen=True)
class Palette:
    """The surfaces that change between light and dark mode."""

    name: str
    background: QColor
    grid: QColor
    node_body: QColor
    node_text: QColor
    node_border: QColor
    selection: QColor
    edge: QColor
    shape_text: QColor


LIGHT = Palette(
    name="light",
    background=QColor("#f4f5f7"),
    grid=QColor("#e1e4e8"),
    node_body=QColor("#ffffff"),
    node_text=QColor("#1f2328"),
    node_border=QColor("#9aa3ad"),
    selection=QColor("#1f6feb"),
    edge=QColor("#6e7781"),
    shape_text=QColor("#445060"),
)

DARK = Palette(
    name="dark",
    background=QColor("#1e2127"),
    grid=QColor("#2a2e36"),
    node_body=QColor("#2d323b"),
    node_text=QColor("#e6e8eb"),
    node_border=QColor("#4a515c"),
    selection=QColor("#58a6ff"),
    edge=QColor("#9aa3ad"),
    shape_text=QColor("#b8c2cc"),
)

_current = LIGHT


def current() -> Palette:
    """The palette in use now; views read it whenever they paint."""
    return _current


def set_dark(dark: bool) -> None:
    """Switches palettes; the main window then asks every view to repaint."""
    global _current
    _current = DARK if dark else LIGHT


def is_dark() -> bool:
    return _current is DARK


def category_color(category: str) -> QColor:
    return CATEGORY_COLORS.get(category, CATEGORY_COLORS["op"])


def kind_color(kind: str | None) -> QColor:
    return KIND_COLORS.get(kind or "tensor", KIND_COLORS["tensor"])


def severity_color(severity: str) -> QColor:
    return {"error": ERROR_COLOR, "warning": WARNING_COLOR}.get(severity, HINT_COLOR)


def apply_to_application(dark: bool) -> None:
    """Gives the widgets (docks, lists, fields) the same light or dark surfaces."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    if app.style().name().lower() != "fusion":  # a new style re-polishes every widget alive
        app.setStyle("Fusion")
    if not dark:
        app.setPalette(app.style().standardPalette())
        return
    p = QPalette()
    role = QPalette.ColorRole
    base, window, text = QColor("#24272e"), QColor("#2d323b"), QColor("#e6e8eb")
    for r, c in ((role.Window, window), (role.WindowText, text), (role.Base, base),
                 (role.AlternateBase, window), (role.Text, text), (role.Button, window),
                 (role.ButtonText, text), (role.ToolTipBase, window), (role.ToolTipText, text),
                 (role.Highlight, DARK.selection), (role.HighlightedText, QColor("#0d1117")),
                 (role.PlaceholderText, QColor("#8b949e")), (role.Link, DARK.selection)):
        p.setColor(r, c)
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor("#6e7681"))
    p.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor("#6e7681"))
    app.setPalette(p)
