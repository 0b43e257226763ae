"""The pace box of the lab's run controls: full speed, or a run spread over 10, 30, 60 s or any.

Pacing is the worker's (:class:`odeprop.core.pace.Pacer`): it waits between steps, outside the
run's clocks, so the trajectory and every count are the unpaced run's.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLabel, QWidget

CHOICES = (("full speed", None), ("over 10 s", 10.0), ("over 30 s", 30.0),
           ("over 60 s", 60.0))
CUSTOM = "custom…"
TIP = ("Chosen before Start: spread the run over this many seconds so a class can follow "
       "every plot as it fills (by ODE time on a log scale, or the loss toward its target, "
       "whichever is further). The trajectory, the counts and the solver's times are those of "
       "the run at full speed.")


class PaceBox(QWidget):
    """"Pace: [full speed ▾]"; :attr:`seconds` is None at full speed."""

    changed = Signal(object)  # seconds or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.seconds: float | None = None
        self.box = QComboBox()
        for text, seconds in CHOICES:
            self.box.addItem(text, seconds)
        self.box.addItem(CUSTOM, "custom")
        self.box.setToolTip(TIP)
        self.box.activated.connect(self._chosen)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Pace:")
        label.setToolTip(TIP)
        row.addWidget(label)
        row.addWidget(self.box)

    def set_seconds(self, seconds: float | None) -> None:
        """Choose a pace (a custom one is added to the list)."""
        index = self.box.findData(seconds)
        if index < 0:
            self.box.insertItem(self.box.count() - 1, f"over {seconds:g} s", float(seconds))
            index = self.box.count() - 2
        self.box.setCurrentIndex(index)
        self.seconds = seconds
        self.changed.emit(seconds)

    def _chosen(self, index: int) -> None:
        data = self.box.itemData(index)
        if data != "custom":
            self.seconds = data
            self.changed.emit(data)
            return
        seconds, ok = QInputDialog.getDouble(self, "Pace", "Spread the run over (seconds):",
                                             self.seconds or 20.0, 1.0, 3600.0, 0)
        if ok:
            self.set_seconds(seconds)
        else:
            self.box.setCurrentIndex(max(self.box.findData(self.seconds), 0))
