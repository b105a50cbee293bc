"""The Export dialog (Ctrl+E): what to export, how, and where.

Plots as PNG or SVG, the window as PNG, the data as CSV or a trace.

The window gives it its plots by name (``{name: PlotWidget}``), itself (for
"Whole window") and the run's ``Trace`` (for CSV, trace and Chrome trace; those
entries are disabled while there is no run). Export runs one function of
``app.gui.export``; an ``ExportError`` is shown in a warning naming the path and
the reason and the dialog stays open, so the user can fix the path; a success
emits ``exported(path)`` and closes the dialog with ``accept()``.

The three places that open another window are one small method each
(``_ask_save_path``, ``_confirm_overwrite``, ``_show_error``), so tests replace
them instead of clicking through modal dialogs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QDir, QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui import export

if TYPE_CHECKING:
    from app.core.trace import Trace

PLOT, WINDOW, CSV, TRACE, CHROME = "plot", "window", "csv", "trace", "chrome"
SUFFIXES = {"png": ".png", "svg": ".svg", CSV: ".csv", TRACE: ".pstrace", CHROME: ".json"}
DEFAULT_SCALE = 2.0  # plots on a projector slide look sharp at twice their on-screen size
MAX_SCALE = 8.0
SETTINGS_FOLDER, SETTINGS_FORMAT = "export/folder", "export/format"  # what the dialog remembers
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class Target:
    """One entry of "Export": a plot (by its name), the window, or one of the run's files."""

    kind: str
    name: str = ""


class ExportDialog(QDialog):
    """Choose what to export (plot, window, data), its format, size, background and file."""

    exported = Signal(str)  # the path written

    def __init__(self, plots: Mapping[str, QWidget] | None = None, window: QWidget | None = None,
                 trace: Trace | None = None, directory: str = "", parent: QWidget | None = None,
                 settings: QSettings | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self._plots = dict(plots or {})
        self._window = window
        self._trace = trace
        # the last folder and format are remembered (``settings``: the app's QSettings or any object with
        # ``value``/``setValue``; by default the app's own store)
        self._settings = settings if settings is not None else QSettings("ProcScope", "ProcScope")
        remembered = str(self._settings.value(SETTINGS_FOLDER, "") or "")
        self._directory = directory or (remembered if os.path.isdir(remembered) else "") or QDir.homePath()
        self._suggested = ""  # the path the dialog proposed last; replaced while the user keeps it
        self._confirmed = ""  # a path whose overwrite the file dialog already confirmed
        self.last_path = ""
        self._targets = [Target(PLOT, name) for name in self._plots]
        if window is not None:
            self._targets.append(Target(WINDOW))
        self._targets += [Target(CSV), Target(TRACE), Target(CHROME)]
        self._build()
        self.retranslate()
        remembered_format = self.format_box.findData(str(self._settings.value(SETTINGS_FORMAT, "") or ""))
        if remembered_format >= 0:
            self.format_box.setCurrentIndex(remembered_format)
        self._target_changed()

    # --- building ---------------------------------------------------------------------
    def _build(self) -> None:
        self.target_box = QComboBox(objectName="exportTarget")
        self.target_box.addItems([""] * len(self._targets))
        model = self.target_box.model()
        if isinstance(model, QStandardItemModel) and self._trace is None:
            for row, target in enumerate(self._targets):
                if target.kind in (CSV, TRACE, CHROME):
                    model.item(row).setEnabled(False)
        first = next((row for row, t in enumerate(self._targets) if t.kind in (PLOT, WINDOW)), 0)
        self.target_box.setCurrentIndex(first)

        self.format_box = QComboBox(objectName="exportFormat")
        self.format_box.addItem("PNG", "png")
        self.format_box.addItem("SVG", "svg")

        self.by_scale = QRadioButton(objectName="exportByScale")
        self.by_pixels = QRadioButton(objectName="exportByPixels")
        self._size_mode = QButtonGroup(self)
        self._size_mode.addButton(self.by_scale)
        self._size_mode.addButton(self.by_pixels)
        self.by_scale.setChecked(True)
        self.scale_box = QDoubleSpinBox(objectName="exportScale", decimals=2, minimum=0.25, maximum=MAX_SCALE,
                                        singleStep=0.5, value=DEFAULT_SCALE)
        self.width_box = QSpinBox(objectName="exportWidth", minimum=1, maximum=export.MAX_SIDE)
        self.height_box = QSpinBox(objectName="exportHeight", minimum=1, maximum=export.MAX_SIDE)
        self.keep_aspect = QCheckBox(objectName="exportKeepAspect", checked=True)
        self.times_label = QLabel("×")

        scale_row = QHBoxLayout()
        scale_row.addWidget(self.by_scale)
        scale_row.addWidget(self.scale_box)
        scale_row.addStretch(1)
        pixels_row = QHBoxLayout()
        pixels_row.addWidget(self.by_pixels)
        pixels_row.addWidget(self.width_box)
        pixels_row.addWidget(self.times_label)
        pixels_row.addWidget(self.height_box)
        pixels_row.addWidget(self.keep_aspect)
        pixels_row.addStretch(1)
        size_rows = QVBoxLayout()
        size_rows.setContentsMargins(0, 0, 0, 0)
        size_rows.addLayout(scale_row)
        size_rows.addLayout(pixels_row)

        self.background_box = QComboBox(objectName="exportBackground")
        self.background_box.addItem("", "white")
        self.background_box.addItem("", "themed")

        self.path_edit = QLineEdit(objectName="exportPath")
        self.path_edit.setMinimumWidth(self.path_edit.fontMetrics().averageCharWidth() * 48)
        self.browse_button = QPushButton(objectName="exportBrowse")
        self.browse_button.setAutoDefault(False)  # Enter exports, even after Browse was used or has the focus
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)

        self.target_label, self.format_label = QLabel(), QLabel()
        self.size_label, self.background_label, self.path_label = QLabel(), QLabel(), QLabel()
        form = QFormLayout()
        form.addRow(self.target_label, self.target_box)
        form.addRow(self.format_label, self.format_box)
        form.addRow(self.size_label, size_rows)
        form.addRow(self.background_label, self.background_box)
        form.addRow(self.path_label, path_row)
        self.target_label.setBuddy(self.target_box)
        self.format_label.setBuddy(self.format_box)
        self.background_label.setBuddy(self.background_box)
        self.path_label.setBuddy(self.path_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

        self.target_box.currentIndexChanged.connect(self._target_changed)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.by_scale.toggled.connect(self._update_enabled)
        self.by_pixels.toggled.connect(self._update_enabled)
        self.scale_box.valueChanged.connect(self._scale_changed)
        self.width_box.valueChanged.connect(self._width_changed)
        self.height_box.valueChanged.connect(self._height_changed)
        self.browse_button.clicked.connect(self.browse)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)

    def retranslate(self) -> None:
        """Every visible string again, through ``tr()`` (the language changed)."""
        self.setWindowTitle(self.tr("Export"))
        self.target_label.setText(self.tr("&Export:"))
        self.format_label.setText(self.tr("&Format:"))
        self.size_label.setText(self.tr("Size:"))
        self.background_label.setText(self.tr("&Background:"))
        self.path_label.setText(self.tr("F&ile:"))
        for row, target in enumerate(self._targets):
            self.target_box.setItemText(row, self._target_text(target))
        model = self.target_box.model()
        no_run = self.tr("There is no recorded run yet.")
        for row in range(len(self._targets)):
            if isinstance(model, QStandardItemModel) and not model.item(row).isEnabled():
                model.item(row).setToolTip(no_run)
        self.format_box.setToolTip(self.tr("PNG: a picture for slides. SVG: a drawing that stays sharp at any size."))
        self.by_scale.setText(self.tr("Scale"))
        self.scale_box.setSuffix(" ×")
        self.scale_box.setToolTip(self.tr("Times the size on screen: 2 × makes a sharper picture for slides."))
        self.by_pixels.setText(self.tr("Pixels"))
        self.width_box.setToolTip(self.tr("Width in pixels"))
        self.height_box.setToolTip(self.tr("Height in pixels"))
        self.keep_aspect.setText(self.tr("Keep aspect ratio"))
        self.background_box.setItemText(0, self.tr("White"))
        self.background_box.setItemText(1, self.tr("As on screen"))
        self.path_edit.setPlaceholderText(self.tr("File to write"))
        self.browse_button.setText(self.tr("Browse…"))
        self.export_button.setText(self.tr("Export"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))

    def _target_text(self, target: Target) -> str:
        if target.kind == PLOT:
            return target.name
        if target.kind == WINDOW:
            return self.tr("Whole window")
        if target.kind == CSV:
            return self.tr("Data (CSV)")
        if target.kind == TRACE:
            return self.tr("Trace (.pstrace)")
        return self.tr("Chrome trace (.json)")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # Enter exports: the button box picks its own default as it is shown, and a focused push button
        # would be the default while it has the focus (Browse is not one: no auto-default)
        for button in self.buttons.buttons():
            button.setAutoDefault(button is self.export_button)
        self.export_button.setDefault(True)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- state ------------------------------------------------------------------------
    def target(self) -> Target:
        return self._targets[self.target_box.currentIndex()]

    def set_target(self, kind: str, name: str = "") -> None:
        """Select an entry: ``set_target("plot", "Activity")``, ``set_target("csv")``."""
        self.target_box.setCurrentIndex(self._targets.index(Target(kind, name)))

    def fmt(self) -> str:
        """``png`` or ``svg`` for a plot; the file kind (``png``, ``csv``, ...) for the rest."""
        target = self.target()
        if target.kind == PLOT:
            return self.format_box.currentData()
        return "png" if target.kind == WINDOW else target.kind

    def path(self) -> str:
        return os.path.expanduser(self.path_edit.text().strip())

    def set_path(self, path: str) -> None:
        self.path_edit.setText(os.fspath(path))

    def _source_size(self) -> tuple[int, int]:
        """The selected plot's (or the window's) size on screen, in pixels."""
        target = self.target()
        widget = self._plots.get(target.name) if target.kind == PLOT else self._window
        if widget is None:
            return 0, 0
        item = export.plot_item(widget) if target.kind == PLOT else None
        if item is not None and item.scene() is not None:
            rect = item.sceneBoundingRect()
            return round(rect.width()), round(rect.height())
        return widget.width(), widget.height()

    def _target_changed(self, *_args) -> None:
        self._sync_pixels_to_scale()
        self._update_enabled()
        self._update_path()

    def _format_changed(self, *_args) -> None:
        self._update_path()

    def _update_enabled(self, *_args) -> None:
        kind = self.target().kind
        image = kind in (PLOT, WINDOW)
        self.format_box.setEnabled(kind == PLOT)
        if kind == WINDOW:
            self.format_box.setCurrentIndex(0)  # the window is a screenshot: PNG only
            self.by_scale.setChecked(True)
        self.by_scale.setEnabled(image)
        self.by_pixels.setEnabled(kind == PLOT)
        pixels = kind == PLOT and self.by_pixels.isChecked()
        self.scale_box.setEnabled(image and not pixels)
        for widget in (self.width_box, self.height_box, self.keep_aspect, self.times_label):
            widget.setEnabled(pixels)
        self.background_box.setEnabled(kind == PLOT)

    def _sync_pixels_to_scale(self) -> None:
        width, height = self._source_size()
        if width and height:
            self._set_pixels(round(width * self.scale_box.value()), round(height * self.scale_box.value()))

    def _set_pixels(self, width: int, height: int) -> None:
        for box, value in ((self.width_box, width), (self.height_box, height)):
            box.blockSignals(True)
            box.setValue(max(1, min(export.MAX_SIDE, value)))
            box.blockSignals(False)

    def _scale_changed(self, *_args) -> None:
        self._sync_pixels_to_scale()

    def _width_changed(self, value: int) -> None:
        width, height = self._source_size()
        if self.keep_aspect.isChecked() and width and height:
            self._set_pixels(value, round(value * height / width))

    def _height_changed(self, value: int) -> None:
        width, height = self._source_size()
        if self.keep_aspect.isChecked() and width and height:
            self._set_pixels(round(value * width / height), value)

    # --- the file -----------------------------------------------------------------------
    def _suffix(self) -> str:
        return SUFFIXES[self.fmt()]

    def _suggest_path(self) -> str:
        target = self.target()
        lesson = ""
        if self._trace is not None:
            lesson = _UNSAFE_IN_NAMES.sub("-", str(getattr(self._trace, "meta", {}).get("lesson") or "")).strip("-.")
        stem = {WINDOW: "window", CSV: "data", TRACE: "run", CHROME: "chrome-trace"}.get(target.kind)
        if stem is None:
            stem = _UNSAFE_IN_NAMES.sub("-", target.name).strip("-.") or "plot"
        name = f"{lesson}-{stem}" if lesson else f"procscope-{stem}"
        return os.path.join(self._directory, name + self._suffix())

    def _update_path(self) -> None:
        """Propose a file name; a path the user chose only gets its extension fixed."""
        current = self.path_edit.text().strip()
        if not current or current == self._suggested:
            self._suggested = self._suggest_path()
            self.path_edit.setText(self._suggested)
            return
        root, ext = os.path.splitext(current)
        if ext.lower() in SUFFIXES.values() and ext.lower() != self._suffix():
            self.path_edit.setText(root + self._suffix())

    def _with_suffix(self, path: str) -> str:
        return path if os.path.splitext(path)[1] else path + self._suffix()

    def browse(self) -> None:
        suffix = self._suffix()
        name_filter = self.tr("{kind} files (*{suffix})").format(kind=suffix.lstrip(".").upper(), suffix=suffix)
        chosen = self._ask_save_path(self.path() or self._suggest_path(), name_filter)
        if chosen:
            chosen = self._with_suffix(chosen)
            self.path_edit.setText(chosen)
            self._confirmed = chosen

    def _ask_save_path(self, suggested: str, name_filter: str) -> str:
        """The file dialog (its own method: tests replace it). Returns "" when cancelled."""
        path, _selected = QFileDialog.getSaveFileName(self, self.tr("Export to"), suggested, name_filter)
        return path

    def _confirm_overwrite(self, path: str) -> bool:
        """Ask before replacing a file the user typed (the file dialog asks for the ones it picks)."""
        answer = QMessageBox.question(
            self, self.tr("Replace file?"), self.tr("{path} already exists. Replace it?").format(path=path),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _show_error(self, error: export.ExportError) -> None:
        """The warning naming the path and the reason (its own method: tests replace it)."""
        QMessageBox.warning(self, self.tr("Export failed"), str(error))

    # --- exporting ----------------------------------------------------------------------
    def export(self) -> bool:
        """Export what is selected; True (and the dialog accepted) when the file was written."""
        path = self.path()
        if path:
            path = self._with_suffix(path)
            self.path_edit.setText(path)
        if path and os.path.isfile(path) and path != self._confirmed and not self._confirm_overwrite(path):
            return False
        failure = None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self._run(path)
        except export.ExportError as error:
            failure = error
        finally:
            QApplication.restoreOverrideCursor()
        if failure is not None:
            self._show_error(failure)
            return False
        self.last_path = path
        self._directory = os.path.dirname(os.path.abspath(path))
        self._settings.setValue(SETTINGS_FOLDER, self._directory)
        if self.target().kind == PLOT:
            self._settings.setValue(SETTINGS_FORMAT, self.format_box.currentData())
        self.exported.emit(path)
        self.accept()
        return True

    def _run(self, path: str) -> None:
        target = self.target()
        if target.kind == PLOT:
            pixels = self.by_pixels.isChecked()
            export.export_plot(
                self._plots[target.name], path, fmt=self.format_box.currentData(),
                width=self.width_box.value() if pixels else None,
                height=self.height_box.value() if pixels else None,
                scale=self.scale_box.value(), background=self.background_box.currentData())
        elif target.kind == WINDOW:
            export.export_window(self._window, path, scale=self.scale_box.value())
        elif target.kind == CSV:
            export.export_csv(self._trace, path)
        elif target.kind == TRACE:
            export.export_trace(self._trace, path)
        else:
            export.export_chrome_trace(self._trace, path)
