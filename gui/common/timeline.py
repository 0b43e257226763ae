"""A replay bar: play/pause, speed and a time slider over a finished run, as a fraction 0–1.

The bar knows nothing of runs: it emits ``moved(fraction)`` when the user drags the slider or
while it plays (about 30 frames a second), and its owner says what that fraction is (a caption)
and moves every view there. At speed ×1 a whole run plays in :data:`PLAY_SECONDS`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

PLAY_SECONDS = 20.0
SLIDER_STEPS = 1000
FRAME_MS = 33
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class ReplayTimeline(QWidget):
    """Play/pause, a speed box and a slider; ``moved`` carries the fraction along the run."""

    moved = Signal(float)

    def __init__(self, parent=None, what: str = "the run"):
        super().__init__(parent)
        self.fraction = 1.0
        self.play_button = QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.toggled.connect(self._play_toggled)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"×{s:g}", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip(f"Replay speed: at ×1 {what} plays in {PLAY_SECONDS:g} s.")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS)
        self.slider.setToolTip(f"Replay: drag to any moment of {what}; every view follows.")
        self.slider.valueChanged.connect(self._slider_moved)
        self.caption = QLabel("")
        # a fixed width: a new caption at every frame never relays the window out
        self.caption.setFixedWidth(self.caption.fontMetrics().horizontalAdvance(
            "every run at 1.23e+04 time units") + 8)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Replay:"))
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.speed)
        row.addWidget(self.caption)
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._advance)
        self._clock = 0.0
        self._show_playing(False)

    # -- the owner's side ----------------------------------------------------------------------
    def set_fraction(self, fraction: float, emit: bool = True) -> None:
        """Go to ``fraction`` (0–1) along the run; ``emit=False`` only moves the slider."""
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.slider.blockSignals(True)
        self.slider.setValue(round(self.fraction * SLIDER_STEPS))
        self.slider.blockSignals(False)
        if emit:
            self.moved.emit(self.fraction)

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def play(self, on: bool = True) -> None:
        self.play_button.setChecked(on)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    # -- inside --------------------------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        self.fraction = value / SLIDER_STEPS
        self.moved.emit(self.fraction)

    def _play_toggled(self, on: bool) -> None:
        if on:
            if self.fraction >= 1.0:
                self.set_fraction(0.0)  # play from the start again
            self._clock = time.perf_counter()
            self._timer.start()
        else:
            self._timer.stop()
        self._show_playing(on)

    def _show_playing(self, on: bool) -> None:
        px = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(px))
        self.play_button.setText("Pause" if on else "Play")

    def _advance(self) -> None:
        now = time.perf_counter()
        step = (now - self._clock) * self.speed.currentData() / PLAY_SECONDS
        self._clock = now
        self.set_fraction(self.fraction + step)
        if self.fraction >= 1.0:
            self.play(False)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.play(False)
        super().hideEvent(event)
