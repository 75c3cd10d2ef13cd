"""Editors generated from parameter declarations (composer.params, composer.optim).

Each editor validates as the user types with the declaration itself, commits only valid
values, and shows what is wrong right under the field. Integers with a range get spin boxes,
flags check boxes, choices combo boxes; everything else (numbers, lists, text) a line edit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ParamError
from composer.params import Param
from gui import theme

INT_LIMIT = 2**31 - 1
NOT_SET = "(none)"  # the entry of an optional choice that sets null


def format_value(param: Param, value: Any) -> str:
    """A value as it is typed in a line edit: an init as `normal mean=0 std=0.02`."""
    if value is None:
        return ""
    if param.kind == "augment":
        return "; ".join(_words(s, "op") for s in value)
    if param.kind == "init":
        return _words(value, "type")
    if param.kind == "normalize":
        return "; ".join(f"{k}={', '.join(_num(v) for v in value[k])}" for k in ("mean", "std"))
    if isinstance(value, list):
        return ", ".join(_num(v) for v in value)
    if isinstance(value, float):
        return _num(value)
    return str(value)


def _words(obj: dict[str, Any], head: str) -> str:
    """{"op": "hflip", "p": 0.5} -> `hflip p=0.5`: the head's value, then name=value."""
    return " ".join([str(obj[head]), *(f"{k}={_num(v)}" for k, v in obj.items() if k != head)])


def _num(v: Any) -> str:
    if isinstance(v, float):
        text = repr(v)
        return text[:-2] if text.endswith(".0") and "e" not in text else text
    return str(v)


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ParamError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ParamError(f"expected a finite number, got {text}")
    return value


def parse_value(param: Param, text: str) -> Any:
    """The typed text as a value of the declaration's kind; raises ParamError."""
    stripped = text.strip()
    if stripped == "" and param.optional:
        value: Any = None
    elif param.kind == "text":
        value = text
    elif param.kind in ("int", "float"):
        if not stripped:
            raise ParamError(f"expected {param.describe()}")
        value = _number(stripped)
    elif param.kind == "augment":
        value = [_augment_step(part) for part in stripped.split(";") if part.strip()]
    elif param.kind == "names":
        value = [part.strip() for part in stripped.split(",") if part.strip()]
    elif param.kind == "init":
        value = _init(stripped)
    elif param.kind == "normalize":
        value = _named_lists(stripped)
    elif param.kind in ("int_list", "split", "betas"):
        inner = stripped.strip("[]() ")
        value = [_number(p) for p in inner.split(",") if p.strip()] if inner else []
    else:
        value = stripped
    return param.validate(value)


def _augment_step(text: str) -> dict[str, Any]:
    """`hflip p=0.5` -> {"op": "hflip", "p": 0.5}."""
    op, *args = text.split()
    step: dict[str, Any] = {"op": op}
    for arg in args:
        key, eq, raw = arg.partition("=")
        if not eq:
            raise ParamError(f"{op}: write arguments as name=value, got {arg!r}")
        step[key] = _number(raw)
    return step


def _init(text: str) -> dict[str, Any]:
    """`normal std=0.02` -> {"type": "normal", "std": 0.02}; JSON as the file has it also
    reads. Unnamed arguments keep their defaults."""
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ParamError(f"not a JSON object: {e.msg} at column {e.colno}") from None
    if not text:
        raise ParamError("expected an initialisation such as default or normal std=0.02")
    kind, *args = text.split()
    init: dict[str, Any] = {"type": kind}
    for arg in args:
        key, eq, raw = arg.partition("=")
        if not eq or not key:
            raise ParamError(f"{kind}: write arguments as name=value, got {arg!r}")
        try:
            init[key] = _number(raw)
        except ParamError:
            init[key] = raw  # a word: mode=fan_out
    return init


def _named_lists(text: str) -> dict[str, list[int | float]]:
    """`mean=0.5, 0.4; std=0.2, 0.2` -> {"mean": [0.5, 0.4], "std": [0.2, 0.2]}."""
    value: dict[str, list[int | float]] = {}
    for part in filter(str.strip, text.split(";")):
        key, eq, raw = part.partition("=")
        if not eq:
            raise ParamError(f"write name=values, got {part.strip()!r}")
        value[key.strip()] = [_number(v) for v in raw.split(",") if v.strip()]
    return value


def placeholder(param: Param) -> str:
    if param.kind == "augment":
        return "e.g. random_shift pixels=1; hflip p=0.5"
    if param.kind == "names":
        return "names, separated by commas" + ("; empty: not set" if param.optional else "")
    if param.kind == "init":
        return "e.g. normal std=0.02, or kaiming_normal mode=fan_out nonlinearity=relu"
    if param.kind == "normalize":
        return "empty: none; e.g. mean=0.5, 0.5, 0.5; std=0.25, 0.25, 0.25"
    if param.optional:
        return "empty: not set"
    return ""


class ParamEditor(QWidget):
    """One field and the error line under it. `commit(value)` receives valid values only."""

    def __init__(self, param: Param, value: Any, commit: Callable[[Any], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param, self._commit, self.value = param, commit, value
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.field = self._build_field()
        self.field.setObjectName(f"param_{param.name}")
        self.field.setToolTip(f"{param.doc}\nExpected: {param.describe()}".strip())
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ERROR_COLOR.name()}; font-size: 11px;")
        self.error.hide()
        layout.addWidget(self.field)
        layout.addWidget(self.error)
        self._show(value)
        if isinstance(self.field, QLineEdit | QSpinBox):
            self.field.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """A field clicked or tabbed into has its value selected: what is typed replaces
        it, as a new value is what is usually meant."""
        if watched is self.field and event.type() == QEvent.Type.FocusIn and event.reason() in (
                Qt.FocusReason.MouseFocusReason, Qt.FocusReason.TabFocusReason,
                Qt.FocusReason.BacktabFocusReason):
            QTimer.singleShot(0, self.field, self.field.selectAll)  # after the click lands
        return super().eventFilter(watched, event)

    def _build_field(self) -> QWidget:
        p = self.param
        if p.kind == "int" and not p.optional:
            box = QSpinBox(self)
            box.setRange(-INT_LIMIT if p.min is None else max(p.min, -INT_LIMIT),
                         INT_LIMIT if p.max is None else min(p.max, INT_LIMIT))
            box.setKeyboardTracking(True)
            box.valueChanged.connect(self._changed)
            return box
        if p.kind == "bool":
            check = QCheckBox(self)
            check.toggled.connect(self._changed)
            return check
        if p.kind == "choice":
            combo = QComboBox(self)
            combo.addItems(([NOT_SET] if p.optional else []) + list(p.choices))
            combo.currentTextChanged.connect(
                lambda text: self._changed(None if text == NOT_SET else text))
            return combo
        line = QLineEdit(self)
        line.setPlaceholderText(placeholder(p))
        line.textEdited.connect(self._typed)
        return line

    def _show(self, value: Any) -> None:
        f = self.field
        f.blockSignals(True)
        if isinstance(f, QSpinBox):
            f.setValue(int(value))
        elif isinstance(f, QCheckBox):
            f.setChecked(bool(value))
        elif isinstance(f, QComboBox):
            f.setCurrentText(NOT_SET if value is None else str(value))
        else:
            f.setText(format_value(self.param, value))
        f.blockSignals(False)

    def set_value(self, value: Any) -> None:
        """Shows the model's value unless the field already holds it (keeps typing intact)."""
        if value != self.value:
            self.value = value
            self._show(value)
            self.set_error(None)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        if isinstance(self.field, QLineEdit):
            border = f"border: 1px solid {theme.ERROR_COLOR.name()};" if message else ""
            self.field.setStyleSheet(f"QLineEdit {{ {border} }}" if border else "")

    def _typed(self, text: str) -> None:
        try:
            value = parse_value(self.param, text)
        except ParamError as e:
            self.set_error(str(e))
            return
        self.set_error(None)
        self._changed(value)

    def _changed(self, value: Any) -> None:
        if value != self.value:
            self.value = value
            self._commit(value)


def form_label(param: Param) -> QLabel:
    label = QLabel(param.name)
    label.setToolTip(param.doc)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    label.setContentsMargins(0, 4, 0, 0)
    return label


class DeviceBox(QComboBox):
    """auto, cpu, and CUDA when this machine has it. CUDA is looked for when the list first
    opens, so torch is not loaded while the window starts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItems(["auto", "cpu"])
        self._probed = False

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.probe()
        super().showPopup()

    def probe(self) -> None:
        if self._probed:
            return
        self._probed = True
        import torch

        for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
            name = "cuda" if i == 0 else f"cuda:{i}"
            if self.findText(name) < 0:
                self.addItem(name)

    def set_device(self, name: str) -> None:
        if self.findText(name) < 0:
            self.addItem(name)
        self.setCurrentText(name)
