"""The bar above the comparison's plots: Start, Stop, how many runs are where, the x-axis
switch and which solver work counter the work plot shows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QStyle

from ..common.run_controls import ControlBar
from .plots import WORK_FIELDS


class ComparisonControls(ControlBar):
    """Emits what the user asked for; shows the state it is told."""

    start_requested = Signal()
    stop_requested = Signal()
    work_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        px = QStyle.StandardPixmap
        self.start_action = self._action("Start", px.SP_MediaPlay, "F5",
                                         "Start every run from the same initial weights.",
                                         self.start_requested)
        self.stop_action = self._action("Stop", px.SP_MediaStop, "Esc",
                                        "Stop every run; what arrived stays plotted, tabled and "
                                        "exportable. Queued runs do not start.",
                                        self.stop_requested)
        top = self._button_row((self.start_action, self.stop_action))
        self.counts = QLabel("")
        self.counts.setToolTip("Runs integrate side by side in worker processes, as many at "
                               "once as the machine has cores; the rest wait in the queue.")
        # a new text never resizes anything: no relayout while the runs stream
        self.counts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.counts, 1)
        self._add_x_axis(top)
        top.addSpacing(8)
        work_label = QLabel("work plot:")
        top.addWidget(work_label)
        self.work = QComboBox()
        for key, (label, _) in WORK_FIELDS.items():
            self.work.addItem(label, key)
        self.work.setToolTip("Which cumulative count of solver work the work plot shows.")
        work_label.setToolTip(self.work.toolTip())
        self.work.currentIndexChanged.connect(
            lambda _i: self.work_changed.emit(self.work.currentData()))
        top.addWidget(self.work)
        self._finish(top)
        self.state = "idle"
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        """idle, running, stopping or ended."""
        self.state = state
        self.start_action.setEnabled(state in ("idle", "ended") and not self.blocker.text())
        self.stop_action.setEnabled(state == "running")

    def set_work(self, field: str) -> None:
        self.work.setCurrentIndex(self.work.findData(field))
