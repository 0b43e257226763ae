"""Help ▸ Lessons: the shipped lessons by title, or a lesson file; the choice is handed on."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from odeprop.core.lesson import lesson_names, load_lesson


class LessonPicker(QDialog):
    """A list of the shipped lessons (title, steps, summary as a tooltip) and a file button;
    ``chosen`` carries a shipped lesson's name or a file's path."""

    chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Lessons")
        self.list = QListWidget()
        for name in lesson_names():
            lesson = load_lesson(name)
            item = QListWidgetItem(f"{lesson.title} ({len(lesson.steps)} steps)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(" ".join(lesson.summary.split()))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        from_file = buttons.addButton("From a file…", QDialogButtonBox.ButtonRole.ActionRole)
        from_file.clicked.connect(self._from_file)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Choose a lesson; walk it with ← and → (or PgUp and PgDown), "
                                "run a step with Ctrl+Return."))
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(640, 320)

    def accept(self) -> None:
        item = self.list.currentItem()
        super().accept()
        if item is not None:
            self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def _from_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a lesson", "",
                                              "Lessons (*.toml);;All files (*)")
        if path:
            super().accept()
            self.chosen.emit(path)
