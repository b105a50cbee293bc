"""The parameter form, generated from a lesson's specs: no per-lesson form code.

Each field is a standard Qt input named ``param_<name>``: a spin box for
numbers, a combo box holding the choice names, a check box for yes/no, a line
edit for a comma-separated set. Validation is the core's (``resolve`` and the
lesson's ``check``), so the form says exactly what the command line says, in
place, and Run stays disabled until it is fixed.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.core.lessons.base import Lesson
from app.core.params import ParamError, ParamSpec, resolve
from app.core.runner import available_start_methods

_INT32 = 2**31 - 1

# The core's messages are English sentences (the command line's); the window shows them in its language.
# (pattern, source text for tr) — the groups fill {0}, {1}, … in order.
_MESSAGES = (
    (r"unknown parameter (.+) for lesson (\S+); allowed: (.*)", "unknown parameter {0} for lesson {1}; allowed: {2}"),
    (r"(\w+): (.+) is not allowed; allowed: (.*)", "{0}: {1} is not allowed; allowed: {2}"),
    (r"(\w+): (.+) does not work with (\S+); allowed: (.*)", "{0}: {1} does not work with {2}; allowed: {3}"),
    (r"(\w+): (.+) is not allowed with (\S+); allowed: (.*)", "{0}: {1} is not allowed with {2}; allowed: {3}"),
)
_ALLOWED = (
    (r"an integer from (\S+) to (\S+)", "an integer from {0} to {1}"),
    (r"a number from (\S+) to (\S+)", "a number from {0} to {1}"),
    (r"one or more of (.+), separated by commas", "one or more of {0}, separated by commas"),
    (r"one of (.+)", "one of {0}"),
    (r"true or false", "true or false"),
)


def _tr(text: str) -> str:
    return QCoreApplication.translate("ParamForm", text)


def allowed_text(allowed: str) -> str:
    """A spec's ``allowed()`` words in the window's language."""
    for pattern, source in _ALLOWED:
        found = re.fullmatch(pattern, allowed)
        if found:
            return _tr(source).format(*found.groups())
    return allowed


def error_text(message: str) -> str:
    """A core ``ParamError`` message in the window's language (as it is if its form is not known)."""
    for pattern, source in _MESSAGES:
        found = re.fullmatch(pattern, message, flags=re.DOTALL)
        if found:
            *head, allowed = found.groups()
            return _tr(source).format(*head, allowed_text(allowed))
    return message


def _sources() -> None:  # pragma: no cover - never called: the literal tr() calls the translation test finds
    QCoreApplication.translate("ParamForm", "unknown parameter {0} for lesson {1}; allowed: {2}")
    QCoreApplication.translate("ParamForm", "{0}: {1} is not allowed; allowed: {2}")
    QCoreApplication.translate("ParamForm", "{0}: {1} does not work with {2}; allowed: {3}")
    QCoreApplication.translate("ParamForm", "{0}: {1} is not allowed with {2}; allowed: {3}")
    QCoreApplication.translate("ParamForm", "an integer from {0} to {1}")
    QCoreApplication.translate("ParamForm", "a number from {0} to {1}")
    QCoreApplication.translate("ParamForm", "one or more of {0}, separated by commas")
    QCoreApplication.translate("ParamForm", "one of {0}")
    QCoreApplication.translate("ParamForm", "true or false")


class ParamForm(QWidget):
    changed = Signal()
    validityChanged = Signal(bool)  # noqa: N815 - Qt signal naming

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("paramForm")
        self._layout = QFormLayout(self)
        # A long label goes above its field rather than widen the lessons panel (one width for every lesson).
        self._layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._lesson: Lesson | None = None
        self._fields: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._lang = "en"
        self.start_method = QComboBox()
        self.start_method.setObjectName("startMethod")
        for method in available_start_methods():
            self.start_method.addItem(method, method)
        self.start_method.setCurrentIndex(max(0, self.start_method.findData("spawn")))
        self.start_method.currentIndexChanged.connect(self._on_change)
        self._method_label = QLabel()
        self.error = QLabel()
        self.error.setObjectName("paramError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.valid = True

    # --- building ----------------------------------------------------------------
    def set_lesson(self, lesson: Lesson, values: dict | None = None, lang: str = "en") -> None:
        self._lesson = lesson
        self._lang = lang
        while self._layout.rowCount():
            self._layout.takeRow(0)
        for widget in (*self._fields.values(), *self._labels.values()):
            widget.setObjectName("")  # findChild must not find a field that is about to go
            widget.deleteLater()
        self._fields.clear()
        self._labels.clear()
        values = values or {}
        for spec in lesson.params:
            field = self._make_field(spec)
            field.setObjectName(f"param_{spec.name}")
            label = QLabel()
            label.setBuddy(field)
            self._fields[spec.name] = field
            self._labels[spec.name] = label
            self._layout.addRow(label, field)
            self._set_value(spec, values.get(spec.name, spec.default))
        self._layout.addRow(self._method_label, self.start_method)
        self._layout.addRow(self.error)
        self.retranslate(lang)
        self._on_change()

    def _make_field(self, spec: ParamSpec) -> QWidget:
        if spec.kind == "int" and spec.minimum >= -_INT32 and spec.maximum <= _INT32:
            field = QSpinBox()
            field.setRange(int(spec.minimum), int(spec.maximum))
            field.setAccelerated(True)
            field.valueChanged.connect(self._on_change)
        elif spec.kind == "float":
            field = QDoubleSpinBox()
            field.setDecimals(3)
            field.setRange(spec.minimum, spec.maximum)
            field.setSingleStep(0.1 if spec.maximum <= 100 else 1.0)
            field.valueChanged.connect(self._on_change)
        elif spec.kind == "choice":
            field = QComboBox()
            for choice in spec.choices:
                field.addItem(choice, choice)
            field.currentIndexChanged.connect(self._on_change)
        elif spec.kind == "bool":
            field = QCheckBox()
            field.toggled.connect(self._on_change)
        else:  # "choices" and integers too large for a spin box
            field = QLineEdit()
            field.textChanged.connect(self._on_change)
        return field

    def _set_value(self, spec: ParamSpec, value) -> None:
        field = self._fields[spec.name]
        field.blockSignals(True)
        try:
            if isinstance(field, QSpinBox):
                field.setValue(int(value))
            elif isinstance(field, QDoubleSpinBox):
                field.setValue(float(value))
            elif isinstance(field, QComboBox):
                field.setCurrentIndex(max(0, field.findData(str(value))))
            elif isinstance(field, QCheckBox):
                field.setChecked(str(value).lower() in ("true", "1", "yes", "on"))
            else:
                field.setText(",".join(value) if isinstance(value, (list, tuple)) else str(value))
        except (TypeError, ValueError, OverflowError):
            pass  # a stale or hostile saved value (1e400, 10**30): the default stays, the other fields are built
        finally:
            field.blockSignals(False)

    # --- reading -------------------------------------------------------------------
    def raw_values(self) -> dict:
        """What the fields hold, as the command line would pass it."""
        raw = {}
        for name, field in self._fields.items():
            if isinstance(field, (QSpinBox, QDoubleSpinBox)):
                raw[name] = field.value()
            elif isinstance(field, QComboBox):
                raw[name] = field.currentData()
            elif isinstance(field, QCheckBox):
                raw[name] = field.isChecked()
            else:
                raw[name] = field.text()
        return raw

    def method(self) -> str:
        return self.start_method.currentData()

    def values(self) -> dict:
        """The validated, typed values; raises ParamError."""
        values = resolve(self._lesson.params, self.raw_values(), self._lesson.id)
        self._lesson.check(values)
        return values

    def _on_change(self, *_args) -> None:
        if self._lesson is None:
            return
        try:
            self.values()
            message = ""
        except ParamError as exc:
            message = str(exc)
        self.error.setText(error_text(message))
        self.error.setVisible(bool(message))
        for name, field in self._fields.items():
            field.setStyleSheet("border: 1px solid #b00020;" if message.startswith(f"{name}:") else "")
        valid = not message
        if valid != self.valid:
            self.valid = valid
            self.validityChanged.emit(valid)
        self.changed.emit()

    def retranslate(self, lang: str | None = None) -> None:
        self._lang = lang or self._lang
        zh = self._lang == "zh"
        self._method_label.setText(self.tr("Start method"))
        self.start_method.setToolTip(self.tr("spawn starts a fresh interpreter (Windows, macOS); fork copies "
                                             "the parent (Linux); forkserver forks from a clean server process."))
        if self._lesson is None:
            return
        for spec in self._lesson.params:
            self._labels[spec.name].setText(spec.label_zh if zh else spec.label_en)
            help_text = spec.help_zh if zh else spec.help_en
            allowed = self.tr("Allowed: {0}").format(allowed_text(spec.allowed()))
            self._fields[spec.name].setToolTip(f"{help_text}\n{allowed}".strip())
