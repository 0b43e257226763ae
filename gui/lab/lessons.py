"""The lab's lessons and shared documents: Help ▸ Lessons…, the lesson panel
(:class:`~odeprop.gui.classroom.lesson_driver.LessonDriver`), File ▸ Save as lesson step…, the
Edit menu's copy and open from the clipboard, and TOML files dropped on the window.

Mixed into :class:`~odeprop.gui.lab.main_window.MainWindow`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from odeprop.core.comparison import Comparison, is_comparison
from odeprop.core.config import Experiment
from odeprop.core.lesson import Lesson, StepView, append_step, load_lesson, step_alone

from ..classroom.lesson_driver import LessonDriver, model_tabs_of
from ..classroom.lesson_picker import LessonPicker
from ..common.sharing import add_sharing
from ..comparison.menus import open_comparison_window


class LessonActions:
    """Lessons in the lab, and documents shared by the clipboard or dropped."""

    lesson_driver: LessonDriver | None = None

    def _add_lesson_menus(self, bar, file_menu) -> None:
        """File ▸ Save as lesson step…, and the Edit menu (copy, open from the clipboard) with
        drops; Help ▸ Lessons… calls :meth:`open_lessons`."""
        self._menu_action(file_menu, "Save as &lesson step…", None, self._save_step_dialog)
        add_sharing(self, bar, "experiment (or lesson step)", self.shared_text,
                    self.open_shared)

    # -- lessons -------------------------------------------------------------------------------
    def open_lessons(self) -> LessonPicker:
        """The picker of shipped lessons (and lesson files), not modal."""
        picker = LessonPicker(self)
        picker.chosen.connect(self.start_lesson)
        picker.open()
        self.lesson_picker = picker
        return picker

    def start_lesson(self, lesson: Lesson | str, step: int = 0, run: bool = True) -> bool:
        """Open ``lesson`` (a Lesson, a shipped name or a file) at ``step`` (0 the first);
        False and a banner when it cannot be read."""
        try:
            lesson = lesson if isinstance(lesson, Lesson) else load_lesson(lesson)
        except ValueError as exc:
            self.show_banner(f"Cannot open the lesson: {exc}", "error")
            return False
        if self.lesson_driver is None:
            self.lesson_driver = LessonDriver(
                self, lambda comparison: open_comparison_window(self, comparison), self)
            self.run_ended.connect(self.lesson_driver.run_ended)
            self._scale_lesson_panel(1.0, self.type_scale)  # a lesson begun while presenting
        self.lesson_driver.begin(lesson, max(0, min(step, len(lesson.steps) - 1)), run)
        return True

    def leave_lesson(self) -> None:
        if self.lesson_driver is not None:
            self.lesson_driver.leave()

    def set_type_scale(self, scale: float) -> None:
        """Presenter mode: the lesson's text grows with the rest of the window's type (on top
        of the size chosen with Ctrl+= / Ctrl+-), and shrinks back with it."""
        before = self.type_scale
        super().set_type_scale(scale)
        if self.lesson_driver is not None:
            self._scale_lesson_panel(before, scale)

    def _scale_lesson_panel(self, before: float, scale: float) -> None:
        """The panel's text from ``before`` to ``scale`` times; its buttons, presenting, at the
        run controls' size (so that the panel and the controls fit 1280 px)."""
        panel = self.lesson_driver.panel
        panel.set_scale(panel.scale * scale / before)
        panel.set_button_points(None if scale == 1.0 else self.controls.font().pointSizeF())

    # -- sharing -------------------------------------------------------------------------------
    def shared_text(self) -> str:
        """The lesson's current step (a lesson of one step) while a lesson is open, else the
        experiment, as TOML."""
        driver = self.lesson_driver
        if driver is not None and driver.active:
            return step_alone(driver.lesson, driver.index).to_toml()
        return self.experiment().to_toml()

    def open_shared(self, data: dict, folder: Path | None = None) -> bool:
        """Open a parsed document: a lesson (it has [[steps]]) in the lesson panel, a
        comparison in a comparison window, an experiment in the lab; a bad one is a banner."""
        try:
            if "steps" in data:
                return self.start_lesson(Lesson.from_dict(data, folder or ""))
            if is_comparison(data):
                open_comparison_window(self, Comparison.from_dict(data))
                return True
            self.set_experiment(Experiment.from_dict(data))
        except ValueError as exc:
            self.show_banner(f"Cannot open it: {exc}", "error")
            return False
        return True

    # -- authoring -----------------------------------------------------------------------------
    def current_view(self) -> StepView:
        """What the window shows now, as a lesson step's view."""
        tabs = model_tabs_of(self)
        return StepView(lens=self.lens_dock.isVisible(),
                        tab=("data", "network")[tabs.currentIndex()] if tabs else "",
                        x_axis=self.plots.x_mode, log_x=self.plots.log_x)

    def save_as_lesson_step(self, path: str | Path) -> bool:
        """Append the experiment and the view to the lesson file at ``path`` (made if
        missing); False and a message when it cannot."""
        try:
            lesson = append_step(path, self.experiment(), self.current_view())
        except (ValueError, OSError) as exc:
            self.show_error("Cannot save the lesson step", f"{path}: {exc}")
            return False
        self.status_label.setText(f"Saved step {len(lesson.steps)} of the lesson {path}: "
                                  "edit its title and text in the file.")
        return True

    def _save_step_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Append the experiment to a lesson", self._last_dir(), "Lessons (*.toml)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.save_as_lesson_step(path if path.endswith(".toml") else path + ".toml")
