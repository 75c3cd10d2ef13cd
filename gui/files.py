"""File commands of the main window: new, open, samples, save, recent files, export.

Nothing is ever lost silently: replacing or closing a graph with unsaved changes asks
Save / Discard / Cancel first, and every failure is shown with the file and the reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from composer.errors import ComposerError
from composer.fileformat.atomic_write import write_text_atomic
from composer.generate.program import data_note
from gui.document import Document
from gui.gallery import SampleGallery

log = logging.getLogger(__name__)

FILE_FILTER = "Graph files (*.graph.json);;JSON files (*.json);;All files (*)"
RECENT_KEY = "recent_files"
MAX_RECENT = 8
Button = QMessageBox.StandardButton


class FileActions:
    """File operations on one Document, reporting to the window that owns them."""

    def __init__(self, window: QWidget, document: Document, settings: QSettings) -> None:
        self.window, self.document, self.settings = window, document, settings

    # --- losing changes ------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to drop the current graph (saved, discarded or clean)."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.warning(
            self.window, "Unsaved changes",
            f"{self.document.title} has unsaved changes. Save them first?",
            Button.Save | Button.Discard | Button.Cancel, Button.Save)
        if answer == Button.Save:
            return self.save()
        return answer == Button.Discard

    # --- opening -------------------------------------------------------------------------
    def new(self) -> None:
        if self.maybe_save():
            self.document.new()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open graph", start, FILE_FILTER)
        if path:
            self.open(path, ask=False)

    def open(self, path: str | Path, ask: bool = True) -> bool:
        """Opens a file (asking about unsaved changes first); shows why when it cannot."""
        if ask and not self.maybe_save():
            return False
        try:
            self.document.open(path)
        except (ComposerError, OSError) as e:
            QMessageBox.critical(self.window, "Cannot open graph", str(e))
            if not Path(path).exists():
                self.forget_recent(path)
            return False
        self.add_recent(self.document.path)
        self.document.message.emit(f"opened {self.document.path}")
        return True

    def open_sample(self) -> None:
        if not self.maybe_save():
            return
        gallery = SampleGallery(self.window)
        if gallery.exec() and gallery.chosen is not None:
            self.open(gallery.chosen, ask=False)

    # --- saving --------------------------------------------------------------------------
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        start = str(self.document.path or Path.cwd() / f"{_slug(self.document.graph.name)}"
                    ".graph.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save graph as", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".graph.json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as e:
            QMessageBox.critical(self.window, "Cannot save graph", f"{path}: {e.strerror or e}")
            return False
        self.add_recent(self.document.path)
        self.document.message.emit(f"saved {path}")
        return True

    def export_python(self) -> None:
        """Writes the graph as one standalone training script (composer.export_python)."""
        import composer

        export = getattr(composer, "export_python", None)
        if export is None:
            QMessageBox.information(self.window, "Export Python",
                                    "Export to Python is not available in this version: "
                                    "composer.export_python is missing.")
            return
        start = str((self.document.path or Path.cwd() / "model.graph.json")
                    .with_suffix("").with_suffix(".py"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Export Python", start,
                                              "Python files (*.py)")
        if not path:
            return
        try:
            source = export(self.document.graph)
            write_text_atomic(path, source)
        except (ComposerError, OSError) as e:
            QMessageBox.critical(self.window, "Cannot export", str(e))
            return
        note = data_note(self.document.graph, Path(path))
        self.document.message.emit(f"exported {path}" + (f"; {note}" if note else ""))

    # --- recent files --------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [str(v) for v in value or []]

    def add_recent(self, path: Path | None) -> None:
        if path is None:
            return
        entries = [str(path)] + [p for p in self.recent() if p != str(path)]
        self.settings.setValue(RECENT_KEY, entries[:MAX_RECENT])

    def forget_recent(self, path: str | Path) -> None:
        target = str(Path(path).resolve())
        self.settings.setValue(RECENT_KEY, [p for p in self.recent() if p != target])

    def clear_recent(self) -> None:
        self.settings.setValue(RECENT_KEY, [])


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "graph"
