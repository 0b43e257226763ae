"""The bar above the comparison's plots: Start, Stop, how many runs are where, the x-axis
switch and which solver work counter the work plot shows."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .comparison_plots import WORK_FIELDS
from .plots import X_MODES
from .tooltips import tip


class ComparisonControls(QWidget):
    """Emits what the user asked for; shows the state it is told."""

    start_requested = Signal()
    stop_requested = Signal()
    x_mode_changed = Signal(str)
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
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for action in (self.start_action, self.stop_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setMinimumWidth(70)
            top.addWidget(button)
        top.addSpacing(12)
        self.counts = QLabel("")
        self.counts.setToolTip("Runs integrate side by side in worker processes, as many at "
                               "once as the machine has cores; the rest wait in the queue.")
        # a new text never resizes anything: no relayout while the runs stream
        self.counts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.counts, 1)
        axis_label = QLabel("x axis:")
        axis_label.setToolTip(tip("x_axis"))
        top.addWidget(axis_label)
        self.x_axis = QComboBox()
        for key, (label, _, _) in X_MODES.items():
            self.x_axis.addItem(label, key)
        self.x_axis.setToolTip(tip("x_axis"))
        self.x_axis.currentIndexChanged.connect(
            lambda _i: self.x_mode_changed.emit(self.x_axis.currentData()))
        top.addWidget(self.x_axis)
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
        self.blocker = QLabel("")
        self.blocker.setWordWrap(True)
        self.blocker.setStyleSheet("color: #b00020; font-weight: bold;")
        self.blocker.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(top)
        layout.addWidget(self.blocker)
        self.state = "idle"
        self.set_state("idle")

    def _action(self, text, icon, shortcut, tooltip, target) -> QAction:
        action = QAction(self.style().standardIcon(icon), text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tooltip} ({shortcut})")
        action.triggered.connect(target)
        self.addAction(action)
        return action

    def set_state(self, state: str) -> None:
        """idle, running, stopping or ended."""
        self.state = state
        self.start_action.setEnabled(state in ("idle", "ended") and not self.blocker.text())
        self.stop_action.setEnabled(state == "running")

    def set_blocker(self, message: str) -> None:
        self.blocker.setText(f"Cannot start: {message}" if message else "")
        self.blocker.setVisible(bool(message))
        self.set_state(self.state)

    def set_x_mode(self, mode: str) -> None:
        self.x_axis.setCurrentIndex(self.x_axis.findData(mode))

    def set_work(self, field: str) -> None:
        self.work.setCurrentIndex(self.work.findData(field))
