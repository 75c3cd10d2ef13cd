"""Watching outputs: the graph's watch list (`ui.watch`), edited as undoable steps.

The list is GUI state, so unlike other edits it may change while a run trains the graph's
copy: the Training panel then previews the new list in the same run. Deleting a node takes
its watched outputs off the list in the same undo step.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QUndoCommand

from composer.previews import WATCH_KEY, watched
from gui import commands


def is_watched(doc, ref: str) -> bool:
    return ref in watched(doc.graph)


def set_watched(doc, ref: str, on: bool) -> None:
    """Watches an output of the top level ("node.port"), or stops watching it: one undo
    step, which marks the document modified."""
    refs = watched(doc.graph)
    if on == (ref in refs):
        return
    new = [*refs, ref] if on else [r for r in refs if r != ref]
    text = f"Watch {ref}" if on else f"Stop watching {ref}"
    doc.undo_stack.push(_command(doc, new, text))


def after_removal(doc, node_ids: Iterable[str]) -> list[QUndoCommand]:
    """The command that takes the removed top-level nodes' outputs off the watch list, if
    any are on it (for the removal's undo step)."""
    if doc.level is not doc.graph:
        return []
    gone = set(node_ids)
    refs = watched(doc.graph)
    kept = [r for r in refs if r.partition(".")[0] not in gone]
    return [_command(doc, kept, "Stop watching removed outputs")] if kept != refs else []


def _command(doc, refs: list[str], text: str) -> QUndoCommand:
    old = doc.graph.ui.get(WATCH_KEY)
    return commands.SetGraphUi(doc.graph, WATCH_KEY, old, refs or None, text)
