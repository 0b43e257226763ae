"""Small editors of rows of numbers: the comparison's targets and a run's tolerance schedule.

Each row is a few fields and a ✕; values are validated by building the core dataclasses
(:class:`~odeprop.core.comparison.Target`, :class:`~odeprop.core.config.TolerancePhase`), and the
row at fault is flagged with the message.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.comparison import TARGET_KINDS, Target
from odeprop.core.config import FIXED_TOLERANCE_METHODS, TolerancePhase
from odeprop.core.methods import METHODS

from .config_widgets import NumberEdit, flag


class RowsEditor(QGroupBox):
    """A small list of rows of number fields (and a choice), with Add and ✕ per row."""

    changed = Signal()

    def __init__(self, title: str, headings, add_text: str, tooltip: str, parent=None):
        super().__init__(title, parent)
        self.setToolTip(tooltip)
        self.rows: list[tuple[QWidget, ...]] = []
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._headings = headings
        for column, text in enumerate(headings):
            self._grid.addWidget(QLabel(f"<i>{text}</i>"), 0, column)
        self.add_button = QPushButton(add_text)
        self.add_button.clicked.connect(lambda: self.add_row(emit=True))
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #6d6d6d;")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(self._grid)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._update_headings()

    def make_row(self) -> tuple[QWidget, ...]:
        raise NotImplementedError

    def add_row(self, values=None, emit: bool = False) -> tuple[QWidget, ...]:
        widgets = self.make_row()
        remove = QPushButton("✕")
        remove.setFixedWidth(28)
        remove.setToolTip("Remove this row.")
        row = len(self.rows) + 1
        for column, widget in enumerate((*widgets, remove)):
            self._grid.addWidget(widget, row, column)
        entry = (*widgets, remove)
        self.rows.append(entry)
        remove.clicked.connect(lambda: self.remove_row(entry))
        for widget in widgets:
            for signal in ("textEdited", "currentIndexChanged"):
                if hasattr(widget, signal):
                    getattr(widget, signal).connect(self.changed)
        if values is not None:
            self.set_row(entry, values)
        self._update_headings()
        if emit:
            self.changed.emit()
        return entry

    def set_row(self, entry, values) -> None:
        for widget, value in zip(entry, values, strict=False):
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            else:
                widget.set_value(value)

    def remove_row(self, entry, emit: bool = True) -> None:
        index = self.rows.index(entry)
        self.rows.remove(entry)
        for widget in entry:
            self._grid.removeWidget(widget)
            widget.deleteLater()
        for i, later in enumerate(self.rows[index:], start=index + 1):  # close the gap
            for column, widget in enumerate(later):
                self._grid.addWidget(widget, i, column)
        self._update_headings()
        if emit:
            self.changed.emit()

    def set_rows(self, rows) -> None:
        for entry in list(self.rows):
            self.remove_row(entry, emit=False)
        for values in rows:
            self.add_row(values)

    def _update_headings(self) -> None:
        for column in range(len(self._headings)):
            item = self._grid.itemAtPosition(0, column)
            if item is not None:
                item.widget().setVisible(bool(self.rows))

    def show_error(self, row: int | None, message: str | None) -> None:
        """Flag the row's fields with ``message`` (None clears every flag)."""
        for i, entry in enumerate(self.rows):
            for widget in entry[:-1]:
                flag(widget, message if i == row else None, self.toolTip())


class TargetsEditor(RowsEditor):
    """The levels the summary reports wall time and gradient evaluations to."""

    def __init__(self, parent=None):
        super().__init__("Targets for the summary", ("kind", "value"), "Add target",
                         "Loss, accuracy or RMS error levels: the summary table gives each "
                         "run's wall time and gradient evaluations to reach them.", parent)

    def make_row(self):
        kind = QComboBox()
        kind.addItems(TARGET_KINDS)
        return kind, NumberEdit()

    def set_targets(self, targets) -> None:
        self.set_rows([(t.kind, t.value) for t in targets])

    def targets(self) -> tuple[Target, ...]:
        """The targets typed; ValueError ("targets[1].value: …") for the first bad one."""
        result = []
        self.show_error(None, None)
        for i, (kind, value, _) in enumerate(self.rows):
            try:
                number = value.value()
                if number is None:
                    raise ValueError("targets.value: give a value")
                result.append(Target(kind.currentText(), number))
            except ValueError as exc:
                message = str(exc).replace("targets.", f"targets[{i}].", 1)
                if not message.startswith("targets["):
                    message = f"targets[{i}].value: {message}"
                self.show_error(i, message)
                raise ValueError(message) from None
        return tuple(result)


class ScheduleEditor(RowsEditor):
    """A run's tolerance schedule: looser tolerances until the loss falls below a level."""

    def __init__(self, parent=None):
        super().__init__("Tolerance schedule", ("until loss <", "rtol", "atol"), "Add phase",
                         "Phases of looser tolerances from the start: each holds until the "
                         "training loss falls below its level, then the next one (and at the "
                         "end the solver's rtol/atol) applies. Strict tolerances far from a "
                         "minimum buy nothing.", parent)
        self.usable = True  # False for methods without changeable tolerances

    def make_row(self):
        return NumberEdit(), NumberEdit(), NumberEdit()

    def set_phases(self, phases) -> None:
        self.set_rows([(p.until_loss, p.rtol, p.atol) for p in phases])

    def set_method(self, method: str) -> None:
        """Enabled only for methods that can change their tolerances during a run."""
        info = METHODS[method]
        reason = None
        if not info.tolerances:
            reason = f"{info.label} has no error tolerances: nothing to schedule."
        elif method in FIXED_TOLERANCE_METHODS:
            reason = f"{info.label} takes its tolerances once: they cannot change during a run."
        self.usable = reason is None
        for entry in self.rows:
            for widget in entry:
                widget.setEnabled(self.usable)
        self.add_button.setEnabled(self.usable)
        self.note.setText(reason or "")
        self.note.setVisible(bool(reason) and bool(self.rows))

    def phases(self) -> tuple[TolerancePhase, ...]:
        """The phases typed (none when the method cannot use them); ValueError when bad."""
        if not self.usable:
            return ()
        result = []
        self.show_error(None, None)
        for i, (until, rtol, atol, _) in enumerate(self.rows):
            try:
                values = [w.value() for w in (until, rtol, atol)]
                if None in values:
                    raise ValueError("solver.schedule: give all three numbers")
                result.append(TolerancePhase(*values))
            except ValueError as exc:
                message = str(exc).replace("solver.schedule", f"solver.schedule[{i}]", 1)
                self.show_error(i, message)
                raise ValueError(message) from None
        return tuple(result)
