"""The Code tab: the Python that `composer export` writes for the graph as it is now.

Regenerated shortly after the user stops editing, and only while the tab is visible and the
graph has changed in a way that reaches the code (moving a node does not). When the graph has
errors, the tab lists them instead: code for a graph that cannot train would mislead.
"""

from __future__ import annotations

import json
import keyword
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui import theme

DEBOUNCE_MS = 400

# (light, dark) colours per kind of token.
COLORS = {
    "keyword": ("#a626a4", "#d291e4"),
    "builtin": ("#0e7c86", "#56b6c2"),
    "string": ("#3f8a32", "#98c379"),
    "comment": ("#7d8590", "#8b949e"),
    "number": ("#b35900", "#e5a66b"),
    "definition": ("#2d5fd0", "#79a6f2"),
    "decorator": ("#9a6a00", "#e5c07b"),
}
BUILTINS = {"True", "False", "None", "self", "super", "len", "range", "dict", "list",
            "tuple", "int", "float", "str", "bool", "print", "isinstance", "zip", "sum",
            "min", "max", "enumerate", "sorted", "any", "all", "set", "type", "getattr"}
TOKEN = QRegularExpression(
    r"(?<comment>#.*)"
    r"|(?<triple>[rRbBuUfF]{0,2}(\"\"\"|'''))"
    r"|(?<string>[rRbBuUfF]{0,2}(\"([^\"\\]|\\.)*\"|'([^'\\]|\\.)*'))"
    r"|(?<decorator>^\s*@[\w.]+)"
    r"|(?<number>\b(0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*([eE][+-]?\d+)?)\b)"
    r"|(?<word>\b[A-Za-z_]\w*\b)")
IN_TRIPLE = {'"""': 1, "'''": 2}  # block states: inside a triple-quoted string


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, strings (triple-quoted ones across lines), comments, numbers and
    the names that def and class introduce."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.formats: dict[str, QTextCharFormat] = {}
        self.set_dark(theme.is_dark())

    def set_dark(self, dark: bool) -> None:
        for kind, pair in COLORS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(pair[1] if dark else pair[0]))
            if kind == "comment":
                fmt.setFontItalic(True)
            if kind in ("keyword", "definition"):
                fmt.setFontWeight(QFont.Weight.DemiBold)
            self.formats[kind] = fmt
        self.dark = dark
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self.setCurrentBlockState(0)
        pos = 0
        if self.previousBlockState() in (1, 2):
            quote = '"""' if self.previousBlockState() == 1 else "'''"
            pos = self._string_to_end(text, 0, quote)
            if pos < 0:
                return
        defining = False
        it = TOKEN.globalMatch(text, pos)
        while it.hasNext():
            m = it.next()
            if m.capturedStart() < pos:
                continue  # inside a triple-quoted string that ended on this line
            kind = next(k for k in ("comment", "triple", "string", "decorator", "number",
                                    "word") if m.capturedStart(k) >= 0)
            start, length = m.capturedStart(kind), m.capturedLength(kind)
            if kind == "triple":
                quote = m.captured(kind)[-3:]
                pos = self._string_to_end(text, start, quote, opened=length)
                if pos < 0:
                    return
                continue
            if kind == "word":
                word = m.captured(kind)
                kind = ("definition" if defining else "keyword" if keyword.iskeyword(word)
                        else "builtin" if word in BUILTINS else "")
                defining = word in ("def", "class")
                if not kind:
                    continue
            self.setFormat(start, length, self.formats[kind])

    def _string_to_end(self, text: str, start: int, quote: str, opened: int = 0) -> int:
        """Colours a triple-quoted string from `start`; the position after its end on this
        line, or -1 when it goes on to the next line (the block state says so)."""
        end = text.find(quote, start + opened)
        if end < 0:
            self.setFormat(start, len(text) - start, self.formats["string"])
            self.setCurrentBlockState(IN_TRIPLE[quote])
            return -1
        self.setFormat(start, end + 3 - start, self.formats["string"])
        return end + 3


def code_key(graph: Any) -> str:
    """What of the graph reaches the code: everything but positions and other `ui` data."""
    data = graph.to_dict()
    data.pop("ui", None)
    for item in data.get("nodes", []) + data.get("groups", []):
        item.pop("ui", None)
    return json.dumps(data, sort_keys=True, default=str)


class CodeView(QWidget):
    """Read-only, monospace, highlighted, copyable; the graph's problems when it has errors."""

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("code_view")
        self.document = document
        self.editor = _text_area("code_text")
        self.highlighter = PythonHighlighter(self.editor.document())
        self.problems = _text_area("code_problems")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.editor)
        self.stack.addWidget(self.problems)
        self.summary = QLabel(objectName="code_summary")
        copy = QPushButton("Copy All", toolTip="copy the whole file to the clipboard")
        copy.clicked.connect(self.copy_all)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self._key: str | None = None  # the code_key the text was made from
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._refresh_if_shown)
        document.analysed.connect(self._graph_changed)
        document.graph_replaced.connect(self._graph_changed)

    @property
    def code(self) -> str:
        return self.editor.toPlainText() if self.stack.currentWidget() is self.editor else ""

    def _shown(self) -> bool:
        """On screen: a dock tabbed behind another is "visible" to Qt but shows nothing."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def _graph_changed(self) -> None:
        if self._shown():
            self._timer.start()  # restarts while the user keeps editing

    def tab_shown(self, shown: bool) -> None:
        """Its dock's tab came to the front (or went behind)."""
        if shown:
            self._timer.start(0)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.highlighter.dark != theme.is_dark():
            self.highlighter.set_dark(theme.is_dark())
        self._timer.start(0)

    def _refresh_if_shown(self) -> None:
        if self._shown():  # else showing it asks again
            self.refresh()

    def refresh(self) -> None:
        """Regenerates the code now if the graph changed since it was last made."""
        from composer.errors import ComposerError
        from composer.generate.program import export_python

        graph = self.document.graph
        key = code_key(graph)
        if key == self._key:
            return
        self._key = key
        try:
            source = export_python(graph)
        except (ComposerError, ValueError) as e:
            self._show_problems(graph, e)
            return
        bar = self.editor.verticalScrollBar()
        scroll = bar.value()
        self.editor.setPlainText(source)
        bar.setValue(scroll)
        self.stack.setCurrentWidget(self.editor)
        lines = source.count("\n")
        self.summary.setText(f"{lines} lines: the standalone script File \u203a Export Python "
                             "writes, and the very program training runs.")

    def _show_problems(self, graph: Any, error: Exception) -> None:
        errors = [str(d) for d in getattr(error, "problems", [])]  # what the checks found
        text = "\n".join(errors or [str(error)])
        self.problems.setPlainText(text)
        self.stack.setCurrentWidget(self.problems)
        count = max(1, len(errors))
        self.summary.setText(f"No code while the graph has {count} error"
                             f"{'s' if count > 1 else ''}; fix {'them' if count > 1 else 'it'} "
                             "to see the exported Python.")

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.stack.currentWidget().toPlainText())


def _text_area(name: str) -> QPlainTextEdit:
    area = QPlainTextEdit(objectName=name, readOnly=True)
    area.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    area.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    font = QFont(theme.MONO_FONT)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    area.setFont(font)
    return area

