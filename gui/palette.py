"""The searchable palette of node types, generated from the catalogue, and of networks: this
file's, and those of the user's library.

Dragging an entry carries its type id under MIME_TYPE (the canvas accepts such drops);
double-clicking one, or pressing Enter in the search box, asks for a node (after the selected
node, wired to it, when one is selected). What is typed after the words that find the block
sets its parameters (`linear 256`, `dropout p=0.3`: gui.typed_add); after Enter the box is
empty again, for the next block of a chain.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer import catalogue
from composer.catalogue.base import CATEGORIES
from gui import theme, typed_add

MIME_TYPE = "application/x-composer-node-type"
TYPE_ROLE = Qt.ItemDataRole.UserRole

CATEGORY_TITLES = {"data": "Data", "layer": "Layers", "block": "Blocks", "merge": "Merge",
                   "op": "Ops", "loss": "Losses"}
NETWORKS, LIBRARY = "networks", "library"  # the heads of this file's and the library's

_icons: dict[str, QIcon] = {}


def category_icon(category: str) -> QIcon:
    """A rounded square in the category's colour with its glyph, as on the node headers."""
    if category not in _icons:
        pix = QPixmap(32, 32)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(theme.category_color(category))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(1, 1, 30, 30, 7, 7)
        p.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(20)
        font.setBold(True)
        p.setFont(font)
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter,
                   theme.CATEGORY_GLYPHS.get(category, "?"))
        p.end()
        _icons[category] = QIcon(pix)
    return _icons[category]


def node_type_mime(type_id: str) -> QMimeData:
    """What a palette drag carries: the type id, utf-8, under MIME_TYPE."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, type_id.encode("utf-8"))
    mime.setText(type_id)
    return mime


class PaletteTree(QTreeWidget):
    """The tree of types; its drags carry MIME_TYPE data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setIndentation(12)
        self.setUniformRowHeights(True)

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, items) -> QMimeData:
        ids = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return node_type_mime(ids[0]) if ids else QMimeData()


class Palette(QWidget):
    """Search box over a tree of node types by category."""

    add_requested = Signal(str, str)  # a type id to add, and what was typed (its values)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setObjectName("palette_search")
        self.search.setPlaceholderText("Search blocks…")
        self.search.setToolTip("Type a block, with its values if you like (linear 256, "
                               "dropout p=0.3), and Enter: it is added after the selected "
                               "block, wired")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._populate()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_match)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

    def _populate(self) -> None:
        self.categories: dict[str, QTreeWidgetItem] = {}
        titles = CATEGORY_TITLES | {NETWORKS: "Networks", LIBRARY: "Library"}
        for category in [*CATEGORIES, NETWORKS, LIBRARY]:
            head = QTreeWidgetItem(self.tree, [titles.get(category, category)])
            head.setIcon(0, category_icon("network" if category in (NETWORKS, LIBRARY)
                                          else category))
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            self.categories[category] = head
        for t in catalogue.all_types():
            self._entry(self.categories[t.category], t.id, t.id.split(".", 1)[1],
                        f"{t.id}: {t.summary}")
        self.categories[NETWORKS].setToolTip(0, "this file's networks: an instance of one "
                                                "is a node")
        self.categories[LIBRARY].setToolTip(0, "networks saved to your library (Graph > Save "
                                               "Network to Library), for any graph")
        self.set_networks([], [])
        self.tree.expandAll()

    @staticmethod
    def _entry(head: QTreeWidgetItem, type_id: str, text: str, tip: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(head, [text])
        item.setData(0, TYPE_ROLE, type_id)
        item.setToolTip(0, tip)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        return item

    def set_networks(self, networks: list[tuple[str, str]], library: list[str]) -> None:
        """Lists this file's networks ((name, what it is), as `net.<Name>` types) and those
        of the library (`library:<Name>`); a head with nothing under it is hidden."""
        for category, entries in ((NETWORKS, [(f"net.{n}", n, f"net.{n}: {doc}")
                                              for n, doc in networks]),
                                  (LIBRARY, [(f"library:{n}", n, f"{n}, from your library: "
                                              "adding it brings the network into this file")
                                             for n in library])):
            head = self.categories[category]
            head.takeChildren()
            for type_id, text, tip in entries:
                self._entry(head, type_id, text, tip)
            head.setHidden(not entries)
            head.setExpanded(True)
        self.filter(self.search.text())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """Wide enough for the longest entry beside a vertical scroll bar."""
        tree = self.tree
        widest = max(tree.fontMetrics().horizontalAdvance(i.text(0)) for i in self.type_items())
        scroll_bar = tree.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        margins = self.layout().contentsMargins()
        width = (2 * tree.indentation() + widest + scroll_bar + 2 * tree.frameWidth()
                 + margins.left() + margins.right() + 12)
        return QSize(width, super().sizeHint().height())

    def type_items(self) -> list[QTreeWidgetItem]:
        return [head.child(i) for head in self.categories.values()
                for i in range(head.childCount())]

    def item_for(self, type_id: str) -> QTreeWidgetItem | None:
        return next((i for i in self.type_items() if i.data(0, TYPE_ROLE) == type_id), None)

    def visible_type_ids(self) -> list[str]:
        return [i.data(0, TYPE_ROLE) for i in self.type_items() if not i.isHidden()]

    def filter(self, text: str) -> None:
        """Shows the types whose id or one-line doc contains every word typed (values typed
        after the words are for the parameters, not the search)."""
        words = typed_add.parse(text).words
        for head in self.categories.values():
            shown = 0
            for i in range(head.childCount()):
                item = head.child(i)
                haystack = f"{item.data(0, TYPE_ROLE)} {item.toolTip(0)}".lower()
                hide = not all(w in haystack for w in words)
                item.setHidden(hide)
                shown += not hide
            head.setHidden(shown == 0)
            head.setExpanded(True)

    def _add_first_match(self) -> None:
        """Enter adds the entry that fits what was typed best (its name starting so)."""
        text = self.search.text().strip()
        words = typed_add.parse(text).words
        shown = [i for i in self.type_items() if not i.isHidden() and not i.parent().isHidden()]
        if shown and text:
            best = min(shown, key=lambda i: typed_add.rank(words, i.data(0, TYPE_ROLE),
                                                           i.text(0)))
            self.add_requested.emit(best.data(0, TYPE_ROLE), text)

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.add_requested.emit(type_id, "")
