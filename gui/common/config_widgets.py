"""Small input widgets for the configuration panel: numbers typed as text, log-scale tolerances,
and the hidden-layer editor. Each one can be flagged invalid where the value is typed.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import ACTIVATIONS

from .tooltips import tip

INVALID_STYLE = "border: 2px solid #d62728; background: #fff0f0;"
MESSAGE_STYLE = "color: #b00020; font-size: 9pt;"  # the message under an invalid field
NOTE_STYLE = "color: #0d47a1; font-size: 9pt;"  # a note under a field the form changed itself


def flag(widget: QWidget, message: str | None, base_tip: str = "") -> None:
    """Mark ``widget`` invalid with ``message`` in its tooltip, or clear the mark (None)."""
    widget.setProperty("invalid", bool(message))
    widget.setStyleSheet(INVALID_STYLE if message else "")
    widget.setToolTip(f"<b>{message}</b><br><br>{base_tip}" if message else base_tip)


def format_number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return ""
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3g}"


class NumberEdit(QLineEdit):
    """A number typed as text; empty means None (``placeholder`` says what that stands for)."""

    def __init__(self, placeholder: str = "", integer: bool = False, parent=None):
        super().__init__(parent)
        self.integer = integer
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(bool(placeholder))

    def value(self) -> float | int | None:
        """The number, None when empty; ``ValueError`` (without a field name) when not one."""
        text = self.text().strip().replace(",", ".")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if self.integer:
            if not number.is_integer():
                raise ValueError(f"{text!r} is not a whole number")
            return int(number)
        return number

    def set_value(self, value) -> None:
        self.setText(format_number(value))


class LogEdit(QWidget):
    """A positive value on a log scale: a slider over decades plus the exact value as text."""

    changed = Signal()
    STEPS_PER_DECADE = 10

    def __init__(self, lowest: float, highest: float, parent=None):
        super().__init__(parent)
        self.edit = NumberEdit()
        self.edit.setMaximumWidth(80)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        k = self.STEPS_PER_DECADE
        self.slider.setRange(round(math.log10(lowest) * k), round(math.log10(highest) * k))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.edit)
        self.slider.valueChanged.connect(self._slid)
        self.edit.textEdited.connect(self._typed)

    def value(self) -> float | None:
        return self.edit.value()

    def text(self) -> str:
        return self.edit.text()

    def set_value(self, value: float) -> None:
        self.edit.setText(f"{value:.2g}")
        self._sync_slider(value)

    def setToolTip(self, text: str) -> None:  # noqa: N802 (Qt naming)
        super().setToolTip(text)
        self.edit.setToolTip(text)
        self.slider.setToolTip(text)

    def setStyleSheet(self, style: str) -> None:  # noqa: N802 (Qt naming)
        self.edit.setStyleSheet(style)

    def _slid(self, position: int) -> None:
        self.edit.setText(f"{10 ** (position / self.STEPS_PER_DECADE):.2g}")
        self.changed.emit()

    def _typed(self, _text: str) -> None:
        try:
            value = self.edit.value()
        except ValueError:
            value = None
        if value is not None and value > 0:
            self._sync_slider(value)
        self.changed.emit()

    def _sync_slider(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(math.log10(value) * self.STEPS_PER_DECADE))
        self.slider.blockSignals(False)


class LayerEditor(QWidget):
    """Hidden layers, input side first: a width and an activation each; add and remove rows."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[QWidget, QSpinBox, QComboBox]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.add_button = QPushButton("Add layer")
        self.add_button.setToolTip("Add a hidden layer at the output side.")
        self.add_button.clicked.connect(lambda: self.add_layer(16, "tanh"))
        self._layout.addWidget(self.add_button)

    def add_layer(self, width: int, activation: str, emit: bool = True) -> None:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        spin = QSpinBox()
        spin.setRange(1, 4096)
        spin.setValue(width)
        spin.setSuffix(" units")
        spin.setToolTip(tip("layers"))
        combo = QComboBox()
        combo.addItems(ACTIVATIONS)
        combo.setCurrentText(activation)
        combo.setToolTip(tip("activation"))
        remove = QPushButton("✕")
        remove.setFixedWidth(28)
        remove.setToolTip("Remove this layer.")
        for w in (spin, combo, remove):
            layout.addWidget(w)
        self._layout.insertWidget(len(self.rows), row)
        entry = (row, spin, combo)
        self.rows.append(entry)
        spin.valueChanged.connect(self.changed)
        combo.currentTextChanged.connect(self.changed)
        remove.clicked.connect(lambda: self.remove_layer(entry))
        if emit:
            self.changed.emit()

    def remove_layer(self, entry) -> None:
        self.rows.remove(entry)
        entry[0].setParent(None)
        entry[0].deleteLater()
        self.changed.emit()

    def set_layers(self, widths, activations) -> None:
        for entry in list(self.rows):
            self.rows.remove(entry)
            entry[0].setParent(None)
            entry[0].deleteLater()
        for width, act in zip(widths, activations, strict=True):
            self.add_layer(width, act, emit=False)

    def layers(self) -> tuple[tuple[int, ...], tuple[str, ...]]:
        return (tuple(s.value() for _, s, _ in self.rows),
                tuple(c.currentText() for _, _, c in self.rows))
