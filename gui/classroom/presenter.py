"""Presenter mode: a window made for a projector and the back row, and back again exactly.

On: full screen, the side panel (the editors) hidden, type :data:`SCALE` times larger in the
window, its plots, their legends, the banner, the status line and the network view; curves
wider and in the Okabe–Ito palette (:mod:`odeprop.gui.common.presentation`). The run controls
keep a smaller factor (:data:`CONTROLS_SCALE`) so that the whole bar stays on a 1280 px screen.
Every command has a key (the window's own: F5 Start, Space Pause, F10 Step, Esc Stop, Ctrl+R
Reset, F one plot large, ] and [ the next and previous plot large, Ctrl+L the lens, F9 the
panel), and PageDown / PageUp — what a presentation clicker sends — step through the plots.
Off: the window's geometry, full-screen state, fonts, pens and panel as they were.

A window takes part by providing what :class:`Presentable` lists (the lab and the comparison
workspace do, through :class:`~odeprop.gui.common.document_window.DocumentWindow`).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import QLabel, QTableView, QWidget

from ..common.presentation import PlotRestyler, scaled_font

SCALE = 1.6  # type and line widths on a projector: 9 pt becomes 14.4 pt
CONTROLS_SCALE = 1.25  # the run controls' type: larger, and the bar still fits 1280 px
RESTYLE_MS = 400  # how often plots made while presenting (a new run's curves) are restyled


class Presentable(Protocol):
    """What a window gives presenter mode."""

    side_panel: QWidget  # the editors, hidden while presenting
    controls: QWidget  # the run controls, kept visible
    status_label: QLabel  # the one-line status, kept visible
    plots: QWidget  # a PlotGrid: its ``zoom`` (PlotZoom) chooses the large plot
    panel_action: object  # View ▸ … panel (checked while the panel shows)

    def _menu_action(self, menu, text, shortcut, slot):
        """A menu entry with a shortcut (DocumentWindow's)."""

    def set_type_scale(self, scale: float) -> None:
        """Type that the window draws itself (the banner's style sheet) ``scale`` times."""


class PresenterMode(QObject):
    """Turns presenter mode on and off for one window (see the module). A window closed while
    presenting leaves it first, so that it remembers its own size, not the screen's."""

    def __init__(self, window: Presentable, menu):
        """Presenter mode for ``window``, switched by View ▸ Presenter mode (F11) added to
        ``menu``."""
        super().__init__(window)  # the window is its parent, never held here (a cycle kept a
        # closed window's wrapper alive after Qt had deleted it)
        self.active = False
        self._saved: dict = {}
        self._restyler: PlotRestyler | None = None
        self._timer = QTimer(window)
        self._timer.setInterval(RESTYLE_MS)
        self._timer.timeout.connect(self._restyle)
        self.action = window._menu_action(menu, "P&resenter mode", "F11", self.set_active)
        self.action.setCheckable(True)
        window.installEventFilter(self)
        self.action.setToolTip("Full screen, large type and lines, a colour-blind-safe "
                               "palette, the editors hidden (F11 again: back as it was)")

    @property
    def window(self) -> Presentable:
        return self.parent()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Close and watched is self.window:
            self.leave(closing=True)
        return False

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def set_active(self, on: bool) -> None:
        if on != self.active:
            self.toggle()
        if self.action.isChecked() != on:
            self.action.setChecked(on)

    def enter(self) -> None:
        if self.active:
            return
        win = self.window
        zoom = win.plots.zoom
        self._saved = {
            "geometry": win.geometry(), "state": win.windowState(),
            "panel": not win.side_panel.isHidden(),
            "font": (win.font(), win.testAttribute(Qt.WidgetAttribute.WA_SetFont)),
            "controls": (win.controls.font(),
                         win.controls.testAttribute(Qt.WidgetAttribute.WA_SetFont)),
            "keys": {a: a.shortcuts() for a in (zoom.next_action, zoom.previous_action)},
            "tables": {t: _section_sizes(t) for t in win.findChildren(QTableView)},
        }
        self.active = True
        win.side_panel.hide()
        win.panel_action.setChecked(False)
        win.setFont(scaled_font(win.font(), SCALE))
        win.controls.setFont(scaled_font(self._saved["controls"][0], CONTROLS_SCALE))
        win.set_type_scale(SCALE)
        for table in self._saved["tables"]:  # headings and cells in the larger type
            table.resizeColumnsToContents()
            table.resizeRowsToContents()
        for action, key in ((zoom.next_action, "PgDown"), (zoom.previous_action, "PgUp")):
            action.setShortcuts([*action.shortcuts(), QKeySequence(key)])
        win.plots.set_presenting(True)
        self._restyler = PlotRestyler(win.plots, SCALE)
        self._restyle()
        self._timer.start()
        self.action.setChecked(True)
        win.showFullScreen()

    def leave(self, closing: bool = False) -> None:
        """Back as the window was. ``closing``: only what the window remembers (its size,
        state and panel) and its fonts; its plots go as they are (restyling or regridding them
        posts layout work that a quitting application ran in its teardown, and crashed)."""
        if not self.active:
            return
        win, saved, self._saved = self.window, self._saved, {}
        self.active = False
        self._timer.stop()
        if not closing:
            self._restyler.restore()
            win.plots.set_presenting(False)  # the plots set aside come back
        else:
            win.plots.presenting = False  # no relayout while the window goes (as above)
        self._restyler = None
        for action, keys in saved["keys"].items():
            action.setShortcuts(keys)
        win.set_type_scale(1.0)
        _set_font(win.controls, *saved["controls"])
        _set_font(win, *saved["font"])
        for table, sizes in saved["tables"].items():
            _set_section_sizes(table, sizes)
        win.setWindowState(saved["state"])
        if not saved["state"] & (Qt.WindowState.WindowFullScreen
                                 | Qt.WindowState.WindowMaximized):
            win.setGeometry(saved["geometry"])
        win.side_panel.setVisible(saved["panel"])
        win.panel_action.setChecked(saved["panel"])
        self.action.setChecked(False)

    def _restyle(self) -> None:
        if self._restyler is not None:
            self._restyler.apply()


def _section_sizes(table: QTableView) -> tuple[list[int], list[int]]:
    """The widths of ``table``'s columns and the heights of its rows."""
    columns, rows = table.horizontalHeader(), table.verticalHeader()
    return ([columns.sectionSize(i) for i in range(columns.count())],
            [rows.sectionSize(i) for i in range(rows.count())])


def _set_section_sizes(table: QTableView, sizes: tuple[list[int], list[int]]) -> None:
    for header, sections in zip((table.horizontalHeader(), table.verticalHeader()), sizes,
                                strict=True):
        for i, size in enumerate(sections[: header.count()]):
            header.resizeSection(i, size)


def _set_font(widget: QWidget, font: QFont, was_set: bool) -> None:
    """``widget``'s font back as it was: its own, or again inherited from its parent (a font
    that resolves nothing)."""
    widget.setFont(font if was_set else QFont())
