"""The main window's actions, menus and toolbar, with the usual desktop shortcuts.

Each action's slot runs through `guarded`, so a failure shows in the window (status bar and
a message box) and the application carries on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QToolBar, QWidget

from composer.errors import ComposerError
from gui.weights_dialog import load_weights

log = logging.getLogger(__name__)
Key = QKeySequence.StandardKey

# Actions that change the graph: disabled while it is read-only (training).
EDITING_ACTIONS = ("undo", "redo", "cut", "paste", "duplicate", "duplicate_tied", "delete",
                   "auto_layout", "new", "open", "open_sample", "make_network",
                   "unpack_network")

SHORTCUTS_HELP = """\
<table>
<tr><td>Ctrl+N / Ctrl+O / Ctrl+S</td><td>new, open, save</td></tr>
<tr><td>Ctrl+Z / Ctrl+Shift+Z</td><td>undo, redo</td></tr>
<tr><td>Ctrl+C / Ctrl+X / Ctrl+V</td><td>copy, cut, paste nodes</td></tr>
<tr><td>Ctrl+D / Ctrl+Shift+D</td><td>duplicate, duplicate with tied weights</td></tr>
<tr><td>Delete</td><td>delete the selection</td></tr>
<tr><td>Ctrl+A</td><td>select all</td></tr>
<tr><td>Ctrl+F</td><td>find a node by id or label</td></tr>
<tr><td>F</td><td>fit the graph in the view</td></tr>
<tr><td>Ctrl+= / Ctrl+-</td><td>zoom in, out (or the mouse wheel)</td></tr>
<tr><td>Tab, or double-click the canvas</td><td>quick-add a block at the cursor</td></tr>
<tr><td>middle drag, or Space+drag</td><td>pan</td></tr>
<tr><td>Ctrl+L</td><td>auto-layout</td></tr>
<tr><td>Ctrl+G / Ctrl+Shift+G</td><td>make a network of the selection, unpack an instance</td></tr>
<tr><td>double-click an instance, Escape</td><td>open its network, back out of it</td></tr>
<tr><td>F5</td><td>check the graph now</td></tr>
<tr><td>F2, or double-click, in Groups</td><td>rename the group</td></tr>
</table>"""


def guarded(window, fn: Callable[[], object]) -> Callable[..., None]:
    """A slot that reports any exception in the window instead of losing it."""
    def slot(*_: object) -> None:
        try:
            fn()
        except ComposerError as e:  # an expected refusal: say why, briefly
            window.show_message(str(e))
            QMessageBox.warning(window, "Cannot do that", str(e))
        except Exception:
            window.report_exception(*sys.exc_info())
    return slot


def _action(window, name: str, text: str, fn: Callable[[], object] | None,
            shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    action.setObjectName(f"action_{name}")
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(k) for k in keys])
    if tip:
        action.setStatusTip(tip)
    if fn is not None:
        action.triggered.connect(guarded(window, fn))
    window.addAction(action)
    return action


def _file_actions(w) -> dict[str, QAction]:
    f = w.files
    return {
        "new": _action(w, "new", "&New", f.new, Key.New),
        "open": _action(w, "open", "&Open…", f.open_dialog, Key.Open),
        "open_sample": _action(w, "open_sample", "Open &Sample…", f.open_sample,
                               "Ctrl+Shift+O", "a gallery of sample graphs"),
        "save": _action(w, "save", "&Save", f.save, Key.Save),
        "save_as": _action(w, "save_as", "Save &As…", f.save_as, Key.SaveAs),
        "export": _action(w, "export", "&Export Python…", f.export_python, "Ctrl+E",
                          "one standalone PyTorch training script"),
        "quit": _action(w, "quit", "&Quit", w.close, Key.Quit),
    }


def _edit_actions(w) -> dict[str, QAction]:
    v = w.view
    undo = _stack_action(w, "&Undo", "undo")
    undo.setShortcuts(QKeySequence.keyBindings(Key.Undo))
    redo = _stack_action(w, "&Redo", "redo")
    redo_keys = QKeySequence.keyBindings(Key.Redo)
    if QKeySequence("Ctrl+Shift+Z") not in redo_keys:
        redo_keys.append(QKeySequence("Ctrl+Shift+Z"))
    redo.setShortcuts(redo_keys)
    for a, name in ((undo, "undo"), (redo, "redo")):
        a.setObjectName(f"action_{name}")
        w.addAction(a)

    def cut() -> None:
        if v.copy():
            v.delete_selection()

    return {
        "undo": undo, "redo": redo,
        "cut": _action(w, "cut", "Cu&t", cut, Key.Cut),
        "copy": _action(w, "copy", "&Copy", v.copy, Key.Copy),
        "paste": _action(w, "paste", "&Paste", v.paste, Key.Paste),
        "duplicate": _action(w, "duplicate", "&Duplicate", v.duplicate, "Ctrl+D"),
        "duplicate_tied": _action(w, "duplicate_tied", "Duplicate with &Tied Weights",
                                  partial(v.duplicate, True), "Ctrl+Shift+D",
                                  "copies that share the originals' weights"),
        "delete": _action(w, "delete", "De&lete", v.delete_selection,
                          [QKeySequence(Key.Delete), QKeySequence("Backspace")]),
        "select_all": _action(w, "select_all", "Select &All", v.select_all, Key.SelectAll),
        "find": _action(w, "find", "&Find Node…", lambda: (w.find_box.setFocus(),
                                                           w.find_box.selectAll()), Key.Find),
    }


def _stack_action(w, text: str, which: str) -> QAction:
    """Undo or Redo with a fixed text, so the toolbar never shifts as edits come; what it
    would undo ("Undo Add conv2d") is its tooltip and status tip. The stack's signals carry
    the state: the stack is not asked back (it may be going away as it signals)."""
    stack = w.document.undo_stack
    action = QAction(text, w)
    action.triggered.connect(getattr(stack, which))
    verb = text.replace("&", "")
    can_changed = stack.canUndoChanged if which == "undo" else stack.canRedoChanged
    text_changed = stack.undoTextChanged if which == "undo" else stack.redoTextChanged

    def set_can(can: bool) -> None:
        action.setEnabled(can and not w.document.read_only)

    def set_text(what: str) -> None:
        tip = f"{verb} {what}".strip()
        action.setToolTip(tip)
        action.setStatusTip(tip)

    can_changed.connect(set_can)
    text_changed.connect(set_text)
    set_can(stack.canUndo() if which == "undo" else stack.canRedo())
    set_text(stack.undoText() if which == "undo" else stack.redoText())
    return action


def _view_actions(w) -> dict[str, QAction]:
    v = w.view
    dark = _action(w, "dark", "&Dark Mode", None, "Ctrl+Shift+L")
    dark.setCheckable(True)
    dark.toggled.connect(guarded(w, lambda: w.set_dark(dark.isChecked())))
    minimap = _action(w, "minimap", "&Minimap", None, "Ctrl+M")
    minimap.setCheckable(True)
    minimap.setChecked(True)
    minimap.toggled.connect(w.minimap.setVisible)
    return {
        "fit": _action(w, "fit", "&Fit", w.fit, "F", "frame the selection, or everything"),
        "zoom_in": _action(w, "zoom_in", "Zoom &In", v.zoom_in, [Key.ZoomIn, "Ctrl+="]),
        "zoom_out": _action(w, "zoom_out", "Zoom &Out", v.zoom_out, Key.ZoomOut),
        "dark": dark, "minimap": minimap,
    }


def _load_weights(w) -> None:
    """The selected node or instance takes its starting weights from a file."""
    ids = w.view.scene().selected_node_ids()
    if len(ids) != 1:
        w.show_message("Select one node or instance to load weights into")
        return
    load_weights(w, w.document, ids[0])


def _graph_actions(w) -> dict[str, QAction]:
    return {
        "auto_layout": _action(w, "auto_layout", "&Auto-Layout", w.document.auto_layout,
                               "Ctrl+L", "place nodes left to right by dependency"),
        "check": _action(w, "check", "&Check Now", w.check_now, "F5"),
        "make_network": _action(w, "make_network", "Make &Network from Selection…",
                                w.networks.make, "Ctrl+G",
                                "the selected nodes become one network, used by an instance"),
        "unpack_network": _action(w, "unpack_network", "&Unpack Network",
                                  w.networks.unpack, "Ctrl+Shift+G",
                                  "the selected instances become the nodes inside them"),
        "open_network": _action(w, "open_network", "&Open Network", w.networks.open,
                                tip="edit the selected instance's network (or double-click "
                                    "it)"),
        "save_network": _action(w, "save_network", "Save Network to &Library",
                                w.networks.save_to_library,
                                tip="the selected instance's network (or the one open), for "
                                    "use in other graphs: it appears under Library in the "
                                    "palette"),
        "load_weights": _action(w, "load_weights", "Load &Weights…", lambda: _load_weights(w),
                                tip="the selected node starts from a PyTorch state_dict file "
                                    "(a pretrained backbone)"),
    }


def build(w) -> dict[str, QAction]:
    """Creates every action, the menu bar and the toolbar; returns the actions by name."""
    actions = (_file_actions(w) | _edit_actions(w) | _view_actions(w) | _graph_actions(w))
    actions["about"] = _action(w, "about", "&About", lambda: _about(w))
    actions["shortcuts"] = _action(w, "shortcuts", "&Keyboard Shortcuts",
                                   lambda: QMessageBox.information(w, "Keyboard shortcuts",
                                                                   SHORTCUTS_HELP))
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    for name in ("new", "open", "open_sample"):
        file_menu.addAction(actions[name])
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(lambda: fill_recent(w, w.recent_menu))
    fill_recent(w, w.recent_menu)
    _add(file_menu, actions, ["save", "save_as", None, "export", None, "quit"])
    _add(bar.addMenu("&Edit"), actions, ["undo", "redo", None, "cut", "copy", "paste",
                                         "duplicate", "duplicate_tied", "delete", None,
                                         "select_all", "find"])
    view_menu = bar.addMenu("&View")
    _add(view_menu, actions, ["fit", "zoom_in", "zoom_out", None, "dark", "minimap", None])
    for dock in (w.palette_dock, w.inspector_dock, w.groups_dock, w.diagnostics_dock):
        view_menu.addAction(dock.toggleViewAction())
    _add(bar.addMenu("&Graph"), actions, ["auto_layout", "check", None, "make_network",
                                          "unpack_network", "open_network", "save_network", None,
                                          "load_weights"])
    _add(bar.addMenu("&Help"), actions, ["shortcuts", "about"])
    toolbar = QToolBar("Main", w)
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    _add(toolbar, actions, ["new", "open", "open_sample", "save", None, "undo", "redo", None,
                            "fit", "auto_layout", "check", None])
    toolbar.addWidget(w.find_box)
    w.addToolBar(toolbar)
    return actions


def _add(menu: QMenu | QToolBar, actions: dict[str, QAction], names: list) -> None:
    for name in names:
        if name is None:
            menu.addSeparator()
        else:
            menu.addAction(actions[name])


def fill_recent(w, menu: QMenu) -> None:
    """The recent files, newest first, each opening its file."""
    menu.clear()
    recent = w.files.recent()
    for i, path in enumerate(recent):
        action = menu.addAction(f"&{i + 1} {Path(path).name}")
        action.setToolTip(path)
        action.setData(path)
        action.triggered.connect(guarded(w, partial(w.files.open, path)))
    if recent:
        menu.addSeparator()
        menu.addAction("Clear Recent Files").triggered.connect(w.files.clear_recent)
    else:
        menu.addAction("(none yet)").setEnabled(False)


def _about(w: QWidget) -> None:
    QMessageBox.about(w, "About Model Composer",
                      "<b>Model Composer</b><br>Compose several neural networks that train "
                      "together, check them as you edit, and export plain PyTorch code.")
