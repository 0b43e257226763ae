"""What the lab's two windows share: a message banner, non-blocking error dialogs, menu actions,
the open/save dialogs of the TOML document each edits, its remembered geometry, the redraw and
preview timers and the x-axis switch."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

#: The redraw timer's period: one repaint per tick, whatever the stream's rate (DESIGN.md).
REDRAW_MS = 33
#: A form edit waits this long for the next before the preview is rebuilt.
PREVIEW_MS = 250

BANNER_STYLES = {
    "error": "background: #fde2e2; color: #8a0010; border: 1px solid #d62728;",
    "ok": "background: #e3f4e1; color: #1b5e20; border: 1px solid #4caf50;",
    "warning": "background: #fff4d6; color: #5c3c00; border: 1px solid #e0a000;",
    "info": "background: #eef2f7; color: #263238; border: 1px solid #90a4ae;",
}


BANNER_POINTS = 11.0


class DocumentWindow(QMainWindow):
    """A window editing one TOML document (an experiment or a comparison).

    Subclasses set ``DOCUMENT`` (the word in dialog titles), ``SETTINGS_PREFIX`` (where their
    geometry lives in QSettings), and provide ``open_document(path)``, ``save_document(path)``,
    ``current_path``, ``settings``, ``plots`` and ``controls`` (for the x axis), ``_redraw``
    (called every :data:`REDRAW_MS`) and ``side_panel`` (the editors, which F9 hides).
    """

    DOCUMENT = "experiment"
    SETTINGS_PREFIX = ""
    PANEL = "Experiment"  # the side panel's name (View ▸ … panel)
    type_scale = 1.0  # the banner's type, times (presenter mode)

    def make_banner(self) -> QLabel:
        self.banner = QLabel("")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # labels and file names as typed
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        return self.banner

    def show_banner(self, text: str, kind: str = "info") -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"{BANNER_STYLES[kind]} padding: 6px; "
                                  f"font-size: {BANNER_POINTS * self.type_scale:.1f}pt;")
        self.banner.setProperty("kind", kind)
        self.banner.show()

    def set_type_scale(self, scale: float) -> None:
        """The banner's type ``scale`` times its size (presenter mode); the rest of the
        window's type follows its font."""
        self.type_scale = scale
        if self.banner.text():
            self.show_banner(self.banner.text(), self.banner.property("kind"))

    def hide_banner(self) -> None:
        self.banner.setText("")
        self.banner.hide()

    def show_error(self, title: str, text: str) -> None:
        """An error the user must see (a file action failed): a dialog that does not block the
        window (runs keep streaming), and the same text in the banner."""
        self.show_banner(text, "error")
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_dialog = box

    def _menu_action(self, menu, text, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- the document's file dialogs ---------------------------------------------------------
    def _filter(self) -> str:
        return f"{self.DOCUMENT.capitalize()}s (*.toml)"

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Open {self.DOCUMENT}", self._last_dir(),
                                              f"{self._filter()};;All files (*)")
        if path:
            self.open_document(path)

    def _save(self) -> None:
        if self.current_path is None:
            self._save_dialog()
        else:
            self.save_document(self.current_path)

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Save {self.DOCUMENT}", self._last_dir(),
                                              self._filter())
        if path:
            self.save_document(path if path.endswith(".toml") else path + ".toml")

    def _last_dir(self) -> str:
        return str(self.current_path.parent) if self.current_path else ""

    # -- remembered window state -------------------------------------------------------------
    def restore_window_state(self, x_modes) -> None:
        """Geometry, dock layout and x axis as the user left them."""
        prefix = self.SETTINGS_PREFIX
        geometry = self.settings.value(f"{prefix}geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value(f"{prefix}window_state")
        if state is not None:
            self.restoreState(state)
        mode = self.settings.value(f"{prefix}x_mode")
        if mode in x_modes:
            self.set_x_mode(mode)
        if str(self.settings.value(f"{prefix}log_x", "false")).lower() == "true":
            self.set_log_x(True)

    def remember_window_state(self) -> None:
        prefix = self.SETTINGS_PREFIX
        self.settings.setValue(f"{prefix}geometry", self.saveGeometry())
        self.settings.setValue(f"{prefix}window_state", self.saveState())
        self.settings.setValue(f"{prefix}x_mode", self.plots.x_mode)
        self.settings.setValue(f"{prefix}log_x", self.plots.log_x)

    # -- timers and the x axis ---------------------------------------------------------------
    def _start_timers(self, preview) -> None:
        """The redraw timer (running) and the single-shot preview timer that calls ``preview``.
        Benchmarks set ``tick_times`` to a list to record the redraw ticks."""
        self.tick_times: list[float] | None = None
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_MS)
        self._preview_timer.timeout.connect(preview)

    def _tick(self) -> float:
        """The time of this redraw tick (recorded when a benchmark asks)."""
        now = time.perf_counter()
        if self.tick_times is not None:
            self.tick_times.append(now)
        return now

    def _add_view_menu(self, bar, x_modes):
        """View ▸ one entry per x axis and the log x switch; the menu, for more entries."""
        view_menu = bar.addMenu("&View")
        for key, (label, _, _) in x_modes.items():
            self._menu_action(view_menu, f"x axis: {label}", None,
                              lambda _=False, k=key: self.set_x_mode(k))
        self.log_x_action = self._menu_action(view_menu, "&Logarithmic x axis", "Ctrl+Shift+L",
                                              lambda on: self.set_log_x(on))
        self.log_x_action.setCheckable(True)
        self.log_x_action.setToolTip("Every plot's x axis on a log scale (each plot's "
                                     "right-click menu switches it alone)")
        view_menu.addSeparator()
        return view_menu

    def _add_layout_actions(self, view_menu) -> None:
        """View ▸ the editing panel on or off (F9), and one plot large (F, ], [): what makes
        the window fit a small screen. ``self.side_panel`` is the panel, ``self.PANEL`` its
        name."""
        self.panel_action = self._menu_action(view_menu, f"{self.PANEL} &panel", "F9",
                                              lambda on: self.side_panel.setVisible(on))
        self.panel_action.setCheckable(True)
        self.panel_action.setChecked(True)
        view_menu.addSeparator()
        for action in self.plots.zoom.actions:
            view_menu.addAction(action)
        view_menu.addSeparator()

    def set_x_mode(self, mode: str) -> None:
        self.plots.set_x_mode(mode)
        self.controls.set_x_mode(mode)

    def set_log_x(self, on: bool) -> None:
        """Every plot's x axis logarithmic (or linear); remembered with the window."""
        self.plots.set_log_x(on)
        if self.log_x_action.isChecked() != on:
            self.log_x_action.setChecked(on)
