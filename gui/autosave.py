"""Autosave and crash recovery: unsaved work survives a killed or crashed application.

A few seconds after an edit leaves the document with unsaved changes, the graph is written to a
recovery file in a per-user folder (COMPOSER_RECOVERY_DIR overrides it). Saving, undoing back to
the saved state, or closing the window normally removes it. Each running application holds a
lock beside its own file; at start-up, a file whose lock nobody holds was left by a process that
died, and the user is offered to restore it (the graph comes back with unsaved changes and
keeps the path of its own file) or to discard it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from composer import fileformat
from composer.errors import GraphFormatError
from composer.fileformat import atomic_write
from composer.graph import Graph
from gui.document import Document

log = logging.getLogger(__name__)

ENV_DIR = "COMPOSER_RECOVERY_DIR"
DELAY_MS = 3000  # quiet time after an edit before the graph is written
MAX_WAIT_S = 30.0  # however busy the editing, written at least this often
RECOVERY_FORMAT = "composer-recovery"
SUFFIX = ".recovery.json"


def recovery_dir() -> Path:
    """Where recovery files live: $COMPOSER_RECOVERY_DIR, else the per-user data folder."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".model-composer") / "recovery"


def _lock(file: Path) -> QLockFile:
    lock = QLockFile(str(file) + ".lock")
    lock.setStaleLockTime(0)  # stale only when its process is gone, however old it is
    return lock


@dataclass
class Recovery:
    """A recovery file left by an application that did not close normally."""

    file: Path
    path: Path | None  # the graph's own file, None when it was never saved
    title: str
    saved: float  # time.time() of the autosave
    lock: QLockFile  # held while the offer is open, so one application offers it

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved))
        where = str(self.path) if self.path else "never saved"
        return f"{self.title} ({where}), autosaved {when}"

    def graph(self) -> Graph:
        """The saved graph, validated like any file. Raises GraphFormatError."""
        data = _read(self.file)
        graph = fileformat.from_dict(data.get("graph"))
        base = self.path.parent if self.path else data.get("base_dir")
        graph.base_dir = Path(base) if isinstance(base, str | Path) else Path(".")
        return graph

    def release(self, remove: bool) -> None:
        """Lets go of the file: deletes it (restored or discarded) or leaves it for later."""
        if remove:
            self.file.unlink(missing_ok=True)
        self.lock.unlock()

    def set_aside(self) -> Path:
        """Renames an unreadable file so that it is not offered again, and not lost."""
        aside = self.file.with_name(self.file.name + ".unreadable")
        self.file.replace(aside)
        self.lock.unlock()
        return aside


def _read(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GraphFormatError(file.name, f"cannot read the recovery file: {e}") from e
    if not isinstance(data, dict) or data.get("format") != RECOVERY_FORMAT:
        raise GraphFormatError(file.name, "not a recovery file")
    return data


def orphans(directory: Path | None = None) -> list[Recovery]:
    """Recovery files whose application is gone, newest first; each is locked for the caller
    until it calls `release` or `set_aside`."""
    directory = directory or recovery_dir()
    found = []
    for file in sorted(directory.glob(f"*{SUFFIX}")):
        lock = _lock(file)
        if not lock.tryLock(0):
            continue  # its application is still running
        try:
            data = _read(file)
            path = data.get("path")
            found.append(Recovery(file, Path(path) if isinstance(path, str) else None,
                                  str(data.get("title", file.name)),
                                  float(data.get("saved", file.stat().st_mtime)), lock))
        except (GraphFormatError, OSError, TypeError, ValueError):
            found.append(Recovery(file, None, file.name, 0.0, lock))  # offered, then set aside
    return sorted(found, key=lambda r: r.saved, reverse=True)


class Autosave(QObject):
    """Writes the document's graph to its recovery file while it has unsaved changes."""

    saved = Signal(object)  # the recovery file
    failed = Signal(str)  # why it could not be written

    def __init__(self, document: Document, directory: Path | None = None,
                 delay_ms: int = DELAY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent or document)
        self.document = document
        self.directory = directory or recovery_dir()
        self.file = self.directory / f"session-{os.getpid()}-{secrets.token_hex(3)}{SUFFIX}"
        self._lock: QLockFile | None = None
        self._warned = False
        self._waiting_since = 0.0
        self.timer = QTimer(self, singleShot=True, interval=delay_ms)  # the debounce
        self.timer.timeout.connect(self.save_now)
        stack = document.undo_stack
        stack.indexChanged.connect(self._changed)
        stack.cleanChanged.connect(self._changed)
        document.graph_replaced.connect(self._changed)

    def _changed(self, *_: object) -> None:
        try:
            dirty = self.document.dirty
        except RuntimeError:  # the document is being destroyed, its undo stack first
            return
        if dirty:
            if not self.timer.isActive():
                self._waiting_since = time.monotonic()
            elif time.monotonic() - self._waiting_since > MAX_WAIT_S:
                return  # edits that never pause are written all the same
            self.timer.start()  # restarted by every edit: written once the edits pause
        else:
            self.timer.stop()
            self.remove()

    def pending(self) -> bool:
        return self.timer.isActive()

    def save_now(self) -> bool:
        """Writes the recovery file if there are unsaved changes; never raises."""
        self.timer.stop()
        if not self.document.dirty:
            return False
        try:
            self._hold_lock()
            doc = self.document
            record = {"format": RECOVERY_FORMAT, "version": 1, "title": doc.title,
                      "path": str(doc.path) if doc.path else None,
                      "base_dir": str(doc.graph.base_dir.resolve()), "saved": time.time(),
                      "pid": os.getpid(), "graph": doc.graph.to_dict()}
            atomic_write.write_text_atomic(self.file, json.dumps(record, ensure_ascii=False))
        except Exception as e:  # a full disk must not cost the user the open graph
            log.warning("autosave to %s failed: %s", self.file, e)
            if not self._warned:
                self._warned = True
                self.failed.emit(f"Autosave failed ({e}); save your work with Ctrl+S")
            return False
        self._warned = False
        self.saved.emit(self.file)
        return True

    def _hold_lock(self) -> None:
        if self._lock is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = _lock(self.file)
            if not lock.tryLock(0):
                raise OSError(f"cannot lock {self.file}.lock ({lock.error().name})")
            self._lock = lock

    def remove(self) -> None:
        """Deletes the recovery file: the changes are saved, undone or knowingly dropped."""
        try:
            self.file.unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot remove %s: %s", self.file, e)

    def close(self) -> None:
        """At a normal exit: no recovery file, no lock left behind."""
        self.timer.stop()
        self.remove()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


def ask_restore(parent: QWidget, recovery: Recovery) -> str:
    """"restore", "discard" or "later" (the dialog closed: asked again next time)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved changes",
                      "Model Composer did not close normally. Unsaved changes were kept:\n\n"
                      f"{recovery.describe()}\n\nRestore them?", parent=parent)
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    clicked = box.clickedButton()
    return "restore" if clicked is restore else "discard" if clicked is discard else "later"


def offer_recovery(window: Any, autosave: Autosave, ask=None) -> bool:
    """Offers the newest recovery file a dead application left; True when it was restored.

    A restored graph replaces the window's, marked unsaved, with its original path; it is
    autosaved at once under this application's name before the old file goes. Older files
    wait for the next start; an unreadable one is renamed aside, and the user told where.
    """
    chosen, graph = None, None
    for recovery in orphans(autosave.directory):
        if chosen is not None:
            recovery.release(remove=False)
            continue
        try:
            graph, chosen = recovery.graph(), recovery
        except GraphFormatError as e:
            aside = recovery.set_aside()
            QMessageBox.warning(window, "Cannot recover", "A recovery file could not be read "
                                f"({e}). It was kept as {aside}.")
    if chosen is None:
        return False
    answer = (ask or ask_restore)(window, chosen)
    if answer != "restore":
        chosen.release(remove=answer == "discard")
        return False
    document = window.document
    document.replace_graph(graph, chosen.path)
    document.undo_stack.resetClean()  # unsaved until the user saves it
    restored = autosave.save_now()
    chosen.release(remove=restored)
    document.message.emit(f"restored unsaved changes of {chosen.title}")
    return True
