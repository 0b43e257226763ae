"""The lesson panel: "step 3 of 8", the step's title and text, its question (the answer revealed
on a key), and the keys that walk the lesson. It only shows and asks; the
:class:`~odeprop.gui.classroom.lesson_driver.LessonDriver` loads and runs the steps.

Keys (while the panel's window is active): → or PgDown next, ← or PgUp previous, Home restart,
Ctrl+Return run this step, Ctrl+Shift+A reveal the answer; Ctrl+= / Ctrl+- text larger or smaller.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

#: The text's point size at scale 1 (the window's own type); the scale multiplies it.
BASE_POINTS = 11.0
SCALES = (0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)

KEYS = {
    "next": ("Right", "PgDown"),
    "previous": ("Left", "PgUp"),
    "restart": ("Home",),
    "run": ("Ctrl+Return", "Ctrl+Enter"),
    "reveal": ("Ctrl+Shift+A",),
    "larger": ("Ctrl+=", "Ctrl++"),
    "smaller": ("Ctrl+-",),
}


class LessonPanel(QWidget):
    """Shows one step; its buttons and keys ask for another step, a run or the answer."""

    step_requested = Signal(int)  # the index of the step to show
    run_requested = Signal()
    leave_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson_panel")
        self.index, self.count, self.scale = 0, 0, 1.0
        self.answer_text = ""
        self.position = QLabel()
        self.position.setObjectName("lesson_position")
        self.lesson_title = QLabel()
        self.title = QLabel()
        self.text = QLabel()
        self.question = QLabel()
        self.answer = QLabel()
        self.outcome = QLabel()  # what the step's run did, when it ended
        for label in (self.lesson_title, self.title, self.text, self.question, self.answer,
                      self.outcome):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)  # a lesson's words as written
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.lesson_title.setStyleSheet("color: #546e7a;")
        self.question.setStyleSheet("color: #0d47a1;")
        self.answer.setStyleSheet("color: #1b5e20;")
        self.buttons = {}
        row = QHBoxLayout()
        for key, text, tip in (
                ("previous", "◀ Previous", "Previous step (← or PgUp)"),
                ("run", "Run this step", "Load this step's experiment and run it "
                                         "(Ctrl+Return)"),
                ("next", "Next ▶", "Next step (→ or PgDown)")):
            button = QPushButton(text)
            button.setToolTip(tip)
            row.addWidget(button)
            self.buttons[key] = button
        lower = QHBoxLayout()
        for key, text, tip in (
                ("restart", "Restart", "Back to the first step (Home)"),
                ("reveal", "Reveal answer", "Show the answer to the question (Ctrl+Shift+A)"),
                ("leave", "Leave lesson", "Close the lesson and restore your own experiment")):
            button = QPushButton(text)
            button.setToolTip(tip)
            lower.addWidget(button)
            self.buttons[key] = button
        self.buttons["previous"].clicked.connect(self.previous)
        self.buttons["next"].clicked.connect(self.next)
        self.buttons["run"].clicked.connect(self.run_requested)
        self.buttons["restart"].clicked.connect(self.restart)
        self.buttons["reveal"].clicked.connect(self.reveal)
        self.buttons["leave"].clicked.connect(self.leave_requested)

        body = QWidget()
        words = QVBoxLayout(body)
        for label in (self.lesson_title, self.position, self.title, self.text, self.question,
                      self.answer, self.outcome):
            words.addWidget(label)
        words.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        layout.addLayout(lower)
        self.actions_ = {}
        for name, slot in (("next", self.next), ("previous", self.previous),
                           ("restart", self.restart), ("run", self.run_requested.emit),
                           ("reveal", self.reveal), ("larger", lambda: self.zoom(+1)),
                           ("smaller", lambda: self.zoom(-1))):
            action = QAction(name, self)
            action.setShortcuts([QKeySequence(k) for k in KEYS[name]])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            self.actions_[name] = action
        self.set_scale(1.0)

    # -- what is shown ----------------------------------------------------------------------
    def show_step(self, lesson, index: int) -> None:
        """Step ``index`` of ``lesson``: its words; the answer hidden until revealed."""
        step = lesson.steps[index]
        self.index, self.count = index, len(lesson.steps)
        self.lesson_title.setText(lesson.title)
        self.position.setText(f"Step {index + 1} of {self.count}")
        self.title.setText(step.title)
        self.text.setText(" ".join(step.text.split()))
        self.question.setText(f"Question: {step.question}" if step.question else "")
        self.question.setVisible(bool(step.question))
        self.answer_text = step.answer
        self.answer.setText("")
        self.answer.hide()
        self.outcome.setText("")
        self.outcome.hide()
        self.buttons["reveal"].setEnabled(bool(step.answer))
        self.buttons["previous"].setEnabled(index > 0)
        self.buttons["next"].setEnabled(index < self.count - 1)

    def show_outcome(self, text: str) -> None:
        self.outcome.setText(text)
        self.outcome.setVisible(bool(text))

    def reveal(self) -> None:
        if self.answer_text:
            self.answer.setText(f"Answer: {self.answer_text}")
            self.answer.show()

    @property
    def answer_shown(self) -> bool:
        return not self.answer.isHidden()

    # -- walking -----------------------------------------------------------------------------
    def next(self) -> None:
        if self.index < self.count - 1:
            self.step_requested.emit(self.index + 1)

    def previous(self) -> None:
        if self.index > 0:
            self.step_requested.emit(self.index - 1)

    def restart(self) -> None:
        if self.count:
            self.step_requested.emit(0)

    # -- type size ---------------------------------------------------------------------------
    def set_scale(self, scale: float) -> None:
        """The text's size as a multiple of :data:`BASE_POINTS` (presenter mode sets 2–3)."""
        self.scale = scale
        for label, factor, bold in ((self.lesson_title, 0.85, False), (self.position, 0.9, True),
                                    (self.title, 1.35, True), (self.text, 1.0, False),
                                    (self.question, 1.0, True), (self.answer, 1.0, False),
                                    (self.outcome, 0.9, False)):
            font = QFont(label.font())
            font.setPointSizeF(BASE_POINTS * scale * factor)
            font.setBold(bold)
            label.setFont(font)

    def set_button_points(self, points: float | None) -> None:
        """The buttons' type in points (presenter mode: the run controls' size, so that the
        panel and the controls beside it fit 1280 px), or None: the window's again."""
        for button in self.buttons.values():
            font = QFont(button.font())
            if points is not None:
                font.setPointSizeF(points)
            button.setFont(font if points is not None else QFont())

    def zoom(self, direction: int) -> None:
        """One step along :data:`SCALES`, larger (+1) or smaller (−1)."""
        larger = [s for s in SCALES if s > self.scale + 1e-9]
        smaller = [s for s in SCALES if s < self.scale - 1e-9]
        if direction > 0 and larger:
            self.set_scale(larger[0])
        elif direction < 0 and smaller:
            self.set_scale(smaller[-1])
