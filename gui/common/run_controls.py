"""Run controls: Start, Pause/Resume, Step, Stop, Reset, the x-axis switch and the progress bar.

The buttons are backed by ``QAction``s (with keyboard shortcuts) that the window's Run menu
shares; the widget only reflects the state it is told (``idle``, ``running``, ``paused``,
``ended``) and emits what the user asked for.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .plots import X_MODES
from .tooltips import tip

NO_TIME = "elapsed —\nleft —"


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d} min"


class ControlBar(QWidget):
    """What the lab's and the comparison's bars share: ``QAction``s with shortcuts shown as
    tool buttons, the x-axis switch, and a red line under the row saying why Start is blocked.

    A subclass builds its row with :meth:`_button_row`, :meth:`_add_x_axis` and
    :meth:`_finish`, and defines ``start_action`` and ``set_state``.
    """

    x_mode_changed = Signal(str)

    def _action(self, text, icon, shortcut, tooltip, target) -> QAction:
        """A shortcut-backed action (shared with the window's Run menu), its tooltip naming
        the shortcut."""
        action = QAction(self.style().standardIcon(icon), text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tooltip} ({shortcut})")
        action.triggered.connect(target)
        self.addAction(action)
        return action

    @staticmethod
    def _button_row(actions) -> QHBoxLayout:
        """A row that starts with one text-beside-icon button per action."""
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setMinimumWidth(66)
            row.addWidget(button)
        row.addSpacing(6)
        return row

    def _add_x_axis(self, row: QHBoxLayout) -> None:
        """The labelled x-axis switch (:data:`X_MODES`); emits ``x_mode_changed``."""
        axis_label = QLabel("x axis:")
        axis_label.setToolTip(tip("x_axis"))
        row.addWidget(axis_label)
        self.x_axis = QComboBox()
        for key, (label, _, _) in X_MODES.items():
            self.x_axis.addItem(label, key)
        self.x_axis.setToolTip(tip("x_axis"))
        self.x_axis.currentIndexChanged.connect(
            lambda _i: self.x_mode_changed.emit(self.x_axis.currentData()))
        row.addWidget(self.x_axis)

    def _finish(self, row: QHBoxLayout) -> None:
        """Lay out ``row`` with the (hidden) blocker line under it."""
        self.blocker = QLabel("")
        self.blocker.setTextFormat(Qt.TextFormat.PlainText)  # the message quotes labels as typed
        self.blocker.setWordWrap(True)
        self.blocker.setStyleSheet("color: #b00020; font-weight: bold;")
        self.blocker.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(row)
        layout.addWidget(self.blocker)

    def set_blocker(self, message: str) -> None:
        """Show why Start is not possible (empty: nothing blocks it)."""
        self.blocker.setText(f"Cannot start: {message}" if message else "")
        self.blocker.setVisible(bool(message))
        self.set_state(self.state)

    def set_x_mode(self, mode: str) -> None:
        self.x_axis.setCurrentIndex(self.x_axis.findData(mode))


class RunControls(ControlBar):
    """The bar above the plots; emits the user's commands."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    step_requested = Signal()
    stop_requested = Signal()
    reset_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = "idle"
        px = QStyle.StandardPixmap
        self.start_action = self._action("Start", px.SP_MediaPlay, "F5",
                                         "Start integrating the experiment.",
                                         self.start_requested)
        self.pause_action = self._action("Pause", px.SP_MediaPause, "Space",
                                         "Pause the run; Resume continues exactly where it "
                                         "stopped.", self._pause_clicked)
        self.step_action = self._action("Step", px.SP_MediaSkipForward, "F10",
                                        "Take exactly one solver step, then pause.",
                                        self.step_requested)
        self.stop_action = self._action("Stop", px.SP_MediaStop, "Esc",
                                        "End the run; its data stays plotted and exportable.",
                                        self.stop_requested)
        self.reset_action = self._action("Reset", px.SP_BrowserReload, "Ctrl+R",
                                         "Clear the plots and go back to the initial weights "
                                         "(same seed, same weights).", self.reset_requested)
        self.actions_ = [self.start_action, self.pause_action, self.step_action,
                         self.stop_action, self.reset_action]
        top = self._button_row(self.actions_)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.progress.setToolTip("Progress toward t_end or the stop target, whichever is "
                                 "nearer.")
        top.addWidget(self.progress, 1)
        self.time_label = QLabel(NO_TIME)
        # two short lines (the bar fits a 1280 px projector with room to spare at presenter
        # type sizes), wide enough for the longest, and fixed: a changing text never
        # relayouts the bar
        self.time_label.setFixedWidth(
            self.time_label.fontMetrics().horizontalAdvance("elapsed 59:59 min") + 8)
        # room for a long progress text on one line (QProgressBar wraps a longer one, and a
        # 22 px bar shows neither line whole)
        self.progress.setMinimumWidth(self.progress.fontMetrics().horizontalAdvance(
            "loss 0.000928 → 0.001  100%") + 12)
        top.addWidget(self.time_label)
        top.addSpacing(6)
        self._add_x_axis(top)
        self._finish(top)
        self.set_state("idle")

    def _pause_clicked(self) -> None:
        if self.state == "paused":
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    # -- state -------------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """Enable what makes sense in ``state``: idle, starting, running, paused or ended."""
        self.state = state
        running = state in ("running", "starting")
        self.start_action.setEnabled(state in ("idle", "ended") and not self.blocker.text())
        self.pause_action.setEnabled(running or state == "paused")
        px = QStyle.StandardPixmap
        self.pause_action.setText("Resume" if state == "paused" else "Pause")
        self.pause_action.setIcon(self.style().standardIcon(
            px.SP_MediaPlay if state == "paused" else px.SP_MediaPause))
        self.step_action.setEnabled(state in ("idle", "paused") and not self.blocker.text())
        self.stop_action.setEnabled(running or state == "paused")
        self.reset_action.setEnabled(state in ("idle", "ended", "paused"))

    def set_progress(self, fraction: float | None, elapsed: float | None, text: str) -> None:
        if fraction is None:
            self.progress.setValue(0)
            self.progress.setFormat(text)
            self.time_label.setText(NO_TIME)
            return
        fraction = min(max(fraction, 0.0), 1.0)
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{text}  {fraction:.0%}")
        remaining = (elapsed * (1 - fraction) / fraction if fraction > 1e-3 and elapsed
                     and self.state in ("running", "starting", "paused") else None)
        if self.state == "ended":
            remaining = 0.0
        self.time_label.setText(f"elapsed {format_seconds(elapsed)}\n"
                                f"left {format_seconds(remaining)}")
