"""The node editor's canvas: scene, view, items, minimap, quick-add and layout."""

from gui.canvas.layout import layout_positions
from gui.canvas.minimap import Minimap
from gui.canvas.scene import CanvasScene
from gui.canvas.view import CanvasView

__all__ = ["CanvasScene", "CanvasView", "Minimap", "layout_positions"]
