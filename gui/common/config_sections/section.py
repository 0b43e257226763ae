"""What every section of the configuration panel shares: a titled form of fields, each with its
message row, read into one frozen config dataclass whose ``ValueError`` names the bad field."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from ..config_widgets import MESSAGE_STYLE, flag
from ..tooltips import tip


def first_by_field(messages) -> dict[str, str]:
    """The first message for each field (``network.hidden[1]: …`` counts for network.hidden)."""
    bad: dict[str, str] = {}
    for message in messages:
        bad.setdefault(message.split(":", 1)[0].split("[", 1)[0], message)
    return bad


class FieldReader:
    """Reads a section's widgets into a dataclass, collecting each bad field's message."""

    #: :meth:`number`'s default for a field that must be filled in, and what a bad field reads
    #: as (the section is then not built: its message is already in :attr:`errors`)
    MISSING = object()

    def __init__(self):
        self.errors: list[str] = []

    def number(self, name: str, widget, default=None, enabled: bool = True):
        """The number typed in ``widget``; ``default`` when it is empty or not ``enabled``."""
        if not enabled:
            return default
        if not widget.text().strip():
            if default is self.MISSING:
                self.errors.append(f"{name}: give a value")
            return default
        try:
            return widget.value()
        except ValueError as exc:
            self.errors.append(f"{name}: {exc}")
            return self.MISSING

    def build(self, current, **changes):
        """``current`` with ``changes``, validated by the dataclass; None when a field is bad."""
        if any(value is self.MISSING for value in changes.values()):
            return None
        try:
            return replace(current, **changes)
        except ValueError as exc:
            self.errors.append(str(exc))
            return None


class ConfigSection(QGroupBox):
    """A form for one config dataclass. :meth:`set_value` fills its widgets, :meth:`value` reads
    them back (``ValueError`` naming the first bad field) and :meth:`validate` shows each
    message in red under its field. What the form does not edit, and settings greyed for the
    current choice, keep the values of the last :meth:`set_value`. ``changed`` fires on every
    edit the user makes (not while :meth:`set_value` fills the form)."""

    changed = Signal()

    def __init__(self, title: str, base):
        super().__init__(title)
        self.form = QFormLayout(self)
        self.base = base  # the value last set: what the form does not edit comes from it
        self.fields: dict[str, QWidget] = {}  # dotted field name → editing widget
        self.labels: dict[str, QLabel] = {}
        #: the message under a field while it is invalid (hidden otherwise)
        self.messages: dict[str, QLabel] = {}
        self._tips: dict[str, str] = {}  # field → its glossary key
        self._updating = False

    # -- building the form -------------------------------------------------------------------
    def add(self, name: str, label: str, widget: QWidget, key: str,
            own_row: bool = False) -> None:
        """A field and its label (``own_row``: the widget on a row of its own under the label,
        the form's whole width), and the hidden message row under them."""
        text = QLabel(label)
        for shown in (text, widget):
            shown.setToolTip(tip(key))
        widget.setProperty("tip", tip(key))
        if own_row:
            self.form.addRow(text)
            self.form.addRow(widget)
        else:
            self.form.addRow(text, widget)
        message = QLabel("")
        message.setObjectName(f"message:{name}")
        message.setWordWrap(True)
        message.setStyleSheet(MESSAGE_STYLE)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow(message)
        self.form.setRowVisible(message, False)
        self.fields[name] = widget
        self.labels[name] = text
        self.messages[name] = message
        self._tips[name] = key
        for signal in ("textEdited", "valueChanged", "currentIndexChanged", "changed"):
            if hasattr(widget, signal):
                getattr(widget, signal).connect(self.edited)
                break

    def edited(self, *_args) -> None:
        """A field was edited: say so, unless :meth:`set_value` is filling the form."""
        if not self._updating:
            self.changed.emit()

    # -- value in and out --------------------------------------------------------------------
    def set_value(self, value) -> None:
        """Show ``value`` in the widgets (``changed`` does not fire)."""
        self.base = value
        self._updating = True
        try:
            self.fill(value)
        finally:
            self._updating = False

    def fill(self, value) -> None:
        raise NotImplementedError

    def show_numbers(self, value, names) -> None:
        """Show ``value``'s fields ``names`` in this section's number fields of those names."""
        for name in names:
            getattr(self, name).set_value(getattr(value, name))

    def read(self) -> tuple[object | None, list[str]]:
        """The value the widgets describe (None when a field is bad) and every bad field's
        message, its dotted name first."""
        reader = FieldReader()
        value = self.build(reader)
        return value, reader.errors

    def build(self, reader: FieldReader):
        raise NotImplementedError

    def value(self):
        """The frozen config value the widgets describe; ``ValueError`` naming the first bad
        field."""
        value, errors = self.read()
        if errors:
            raise ValueError(errors[0])
        return value

    # -- showing what is wrong, and what does not apply -------------------------------------
    def notices(self) -> dict[str, str]:
        """Messages shown under fields without making the value invalid (none here)."""
        return {}

    def validate(self) -> list[str]:
        """Check the section alone and show its messages; the errors, first first."""
        _, errors = self.read()
        bad = first_by_field(errors)
        for name, message in self.notices().items():
            bad.setdefault(name, message)
        self.show_problems(bad)
        return errors

    def show_problems(self, bad: dict[str, str]) -> None:
        """Flag each field named in ``bad`` with its message and clear the others; fields that
        share a widget (network.hidden and .activations) show one message."""
        shown: dict[int, tuple[str, QWidget, str | None]] = {}
        for name, widget in self.fields.items():
            first, _, message = shown.get(id(widget), (name, widget, None))
            shown[id(widget)] = (first, widget, message or bad.get(name))
        for name, widget, message in shown.values():
            flag(widget, message, widget.property("tip") or "")
            self.show_message(name, message)

    def show_message(self, name: str, message: str | None) -> None:
        """Show ``message`` in red under the field ``name`` (None hides it)."""
        label = self.messages[name]
        if (message or "") != label.text():
            label.setText(message or "")
        self.form.setRowVisible(label, bool(message))

    def message(self, name: str) -> str:
        """The message shown under a field ("" when it is valid)."""
        label = self.messages[name]
        return label.text() if not label.isHidden() else ""

    def grey(self, reasons: dict[str, str | None]) -> None:
        """Disable each field with a reason (the reason becomes its tooltip); enable the
        fields whose reason is None, with their glossary tooltip back."""
        for name, reason in reasons.items():
            widget, label = self.fields[name], self.labels[name]
            widget.setEnabled(reason is None)
            label.setEnabled(reason is None)
            text = reason or tip(self._tips[name])
            widget.setProperty("tip", text)
            widget.setToolTip(text)
            label.setToolTip(text)

    def refresh(self) -> None:
        """Grey what the current choices make irrelevant (nothing here)."""
