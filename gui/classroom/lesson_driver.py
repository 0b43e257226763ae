"""Walks a lesson through the windows: each step's experiment goes into the lab, each comparison
into a comparison window the lesson opens (and closes again), the step's view is applied (plots,
the large one, lens, data or network tab, x axis) and the step runs. Leaving the lesson puts the
user's own experiment and view back.

The driver knows the windows only by what they offer (``set_experiment``, ``set_comparison``,
``start``, ``stop``, ``plots``, ``set_x_mode``, ``set_log_x``, ``lens_dock``, ``data_view``); a
window that offers ``set_pace(seconds)`` or ``replay_to(fraction)`` gets the step's pace and
replay too. The lab hands it a function that opens a comparison window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QGridLayout, QTabWidget

from odeprop.core.comparison import Comparison
from odeprop.core.lesson import Lesson, StepView

from ..common.grid_places import restore_places
from .lesson_panel import LessonPanel


class LessonDriver(QObject):
    """One lesson at a time, in ``lab`` (and in comparison windows from ``open_comparison``)."""

    left = Signal()

    def __init__(self, lab, open_comparison, parent=None):
        super().__init__(parent)
        self.lab = lab
        self.open_comparison = open_comparison
        self.panel = LessonPanel()
        self.panel.step_requested.connect(self.go)
        self.panel.run_requested.connect(self.run_step)
        self.panel.leave_requested.connect(self.leave)
        self.lesson: Lesson | None = None
        self.index = 0
        self.host = None  # the window showing the current step
        self.comparison_window = None  # the one the lesson opened
        self._docks: dict[int, QDockWidget] = {}
        self._saved = None  # the user's experiment and view before the lesson

    @property
    def active(self) -> bool:
        return self.lesson is not None

    # -- walking -----------------------------------------------------------------------------
    def begin(self, lesson: Lesson, index: int = 0, run: bool = True) -> None:
        """Open ``lesson`` at step ``index`` (the user's experiment is kept to come back to)."""
        if self.lesson is None:
            self._saved = (_experiment_or_none(self.lab), _view_state(self.lab))
            _show_side_panel(self.lab, False)  # the lesson's panel takes its place: 1280 px fit
        self.lesson = lesson
        self.go(index, run)

    def go(self, index: int, run: bool = True) -> None:
        """Show step ``index``: load its document, apply its view, and run it."""
        lesson = self.lesson
        if lesson is None or not 0 <= index < len(lesson.steps):
            return
        self.index = index
        self.panel.show_step(lesson, index)
        document = lesson.run_document(index)
        self._stop_host()
        if isinstance(document, Comparison):
            self.host = self._comparison_host(document)
        else:
            self.host = self.lab
            self.lab.set_experiment(document)
            if self.comparison_window is not None:
                self.comparison_window.hide()
        self._dock_panel(self.host)
        apply_view(self.host, lesson.steps[index].show)
        if QGuiApplication.platformName() != "offscreen":  # there, nothing to bring forward
            self.host.raise_()
            self.host.activateWindow()
        if run:
            self.run_step()

    def run_step(self) -> None:
        """(Re)start the step's run in its window, at the step's pace."""
        if self.host is None:
            return
        self._stop_host()
        self.panel.show_outcome("")
        if hasattr(self.host, "set_pace"):  # before Start: a run keeps the pace it began with
            self.host.set_pace(self.lesson.steps[self.index].run.paced_seconds)
        self.host.start()

    def leave(self) -> None:
        """Close the lesson: its comparison window goes, the lab gets the user's experiment
        and view back."""
        if self.lesson is None:
            return
        self.lesson = None
        self._stop_host()
        if self.comparison_window is not None:
            self.comparison_window.close()  # the panel comes back to the lab (eventFilter)
            self.comparison_window = None
        for dock in self._docks.values():
            dock.hide()
        experiment, view = self._saved or (None, None)
        if experiment is not None:
            self.lab.set_experiment(experiment)
        reset_view(self.lab)
        if view is not None:
            _restore_view_state(self.lab, view)
        self.host = None
        self.left.emit()

    # -- the step's run ended --------------------------------------------------------------
    def run_ended(self, status: str = "", message: str = "") -> None:
        """What the step's run did, under its text; a window that replays gets the step's
        replay point."""
        if self.lesson is None:
            return
        self.panel.show_outcome(f"Run {status}: {message}" if status else "Every run ended.")
        replay = self.lesson.steps[self.index].run.replay_to
        if replay is not None and hasattr(self.host, "replay_to"):
            self.host.replay_to(replay)

    # -- windows -----------------------------------------------------------------------------
    def _comparison_host(self, comparison: Comparison):
        window = self.comparison_window
        if window is None:
            window = self.comparison_window = self.open_comparison(comparison)
            window.destroyed.connect(self._comparison_closed)
            window.installEventFilter(self)
            window.comparison_ended.connect(self.run_ended)
        else:
            window.set_comparison(comparison)
            window.show()
        self._present_like_lab(window)
        return window

    def _present_like_lab(self, window) -> None:
        """The lesson's comparison window presents while the lab does (a class saw it in 9 pt
        type and a window of its own size), over the lab's place."""
        presenter = getattr(self.lab, "presenter", None)
        if presenter is None or not presenter.active or window.presenter.active:
            return
        window.presenter.set_active(True)
        if not self.lab.isFullScreen():  # presenting in a window of a chosen size (--size)
            window.showNormal()
            window.setGeometry(self.lab.geometry())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt naming)
        """The lesson's comparison window closing: the panel goes back to the lab first (the
        window's dock deleted it, and presenter mode then crashed on its deleted labels)."""
        if (event.type() == QEvent.Type.Close and watched is self.comparison_window
                and self.panel.window() is watched):
            self._dock_panel(self.lab)
        return False

    def _comparison_closed(self, *_):
        self._docks = {k: d for k, d in self._docks.items() if k != id(self.comparison_window)}
        if self.host is self.comparison_window:
            self.host = None
        self.comparison_window = None

    def _stop_host(self) -> None:
        host = self.host
        if host is not None and getattr(host, "state", "idle") in ("running", "paused",
                                                                   "starting"):
            host.stop()

    def _dock_panel(self, window) -> None:
        """The panel in a dock of ``window``, tabbed with its settings dock and in front."""
        dock = self._docks.get(id(window))
        if dock is None:
            dock = QDockWidget("Lesson", window)
            dock.setObjectName("lesson_dock")
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable  # Leave closes it
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            left = [d for d in window.findChildren(QDockWidget)
                    if window.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea
                    and d is not dock]
            window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
            if left:
                window.tabifyDockWidget(left[0], dock)
            self._docks[id(window)] = dock
        if dock.widget() is not self.panel:
            dock.setWidget(self.panel)
        dock.show()
        dock.raise_()


# -- the view ------------------------------------------------------------------------------------
def apply_view(window, view: StepView) -> None:
    """Show what a step names in ``window``: its plots (none named: all), the large one, the
    lens, the data or network tab, the x axis and log x. Presenting on a short screen, the
    plots beside the large one that do not fit step aside, the last named first."""
    reset_view(window, fit=not (view.plots or view.large))
    plots = window.plots.plots
    for key, plot in plots.items():
        if view.plots and key not in view.plots:
            plot.hide()
        elif view.plots and key in view.plots and key != "flow":
            plot.show()
    if view.plots or view.large:
        window.plots.arrange(_by_importance(window, view), plots.get(view.large))
    lens = getattr(window, "lens_dock", None)
    if lens is not None:
        lens.setVisible(view.lens)
    tabs = model_tabs_of(window)
    if view.tab and tabs is not None:
        tabs.setCurrentIndex(0 if view.tab == "data" else 1)
    if view.x_axis:
        window.set_x_mode(view.x_axis)
    window.set_log_x(view.log_x)


def _by_importance(window, view: StepView) -> list:
    """The cells a step shows, in its order: the plots it names, then the data view (first,
    when the step names its tab)."""
    plots, cells = window.plots.plots, window.plots.zoom.cells()
    named = [plots[k] for k in view.plots if k in plots and not plots[k].isHidden()] \
        if view.plots else [c for c in cells if c in plots.values() and not c.isHidden()]
    data = [c for c in cells if c not in plots.values() and not c.isHidden()]
    return data + named if view.tab == "data" else named + data


def reset_view(window, fit: bool = True) -> None:
    """Every plot shown (the flow plot as its window decides), the grids as they were; with
    ``fit``, as presenter mode fits them to the screen (:meth:`PlotGrid.fit_rows`)."""
    window.plots.unarrange()  # in its own places before the grid's original is read
    for key, plot in window.plots.plots.items():
        if key != "flow":
            plot.show()
    for grid in _grids(window):
        restore_places(grid)
    if fit:
        window.plots.fit_rows()


def _grids(window) -> list[QGridLayout]:
    """The grid layouts holding the window's plots (each once)."""
    grids = (_grid_of(plot) for plot in window.plots.plots.values())
    return list({id(g): g for g in grids if g is not None}.values())


def model_tabs_of(window) -> QTabWidget | None:
    """The tabs holding the window's data view (and the network view), if it has them."""
    data_view = getattr(window, "data_view", None)
    for tabs in window.findChildren(QTabWidget):
        if data_view is not None and tabs.indexOf(data_view) >= 0:
            return tabs
    return None


def _grid_of(widget) -> QGridLayout | None:
    """The grid layout that holds ``widget`` (searched from its parent's layout down)."""
    parent = widget.parentWidget()
    layouts = [parent.layout()] if parent is not None and parent.layout() else []
    while layouts:
        layout = layouts.pop()
        if isinstance(layout, QGridLayout) and layout.indexOf(widget) >= 0:
            return layout
        layouts += [layout.itemAt(i).layout() for i in range(layout.count())
                    if layout.itemAt(i).layout() is not None]
    return None


def _experiment_or_none(lab):
    try:
        return lab.experiment()
    except ValueError:  # a half-typed form: nothing to restore but the form as it shows
        return None


def _view_state(window) -> dict:
    tabs = model_tabs_of(window)
    lens = getattr(window, "lens_dock", None)
    pace = getattr(window, "pace_box", None)
    panel = getattr(window, "side_panel", None)
    return {"x_mode": window.plots.x_mode, "log_x": window.plots.log_x,
            "lens": lens is not None and lens.isVisible(),
            "tab": tabs.currentIndex() if tabs is not None else None,
            "pace": pace.seconds if pace is not None else None,
            "panel": panel is not None and not panel.isHidden()}


def _show_side_panel(window, on: bool) -> None:
    """The window's editors shown or hidden, as View ▸ … panel (F9) would."""
    if getattr(window, "side_panel", None) is not None:
        window.side_panel.setVisible(on)
        window.panel_action.setChecked(on)


def _restore_view_state(window, state: dict) -> None:
    _show_side_panel(window, state["panel"])
    if hasattr(window, "set_pace"):
        window.set_pace(state["pace"])
    window.set_x_mode(state["x_mode"])
    window.set_log_x(state["log_x"])
    lens = getattr(window, "lens_dock", None)
    if lens is not None:
        lens.setVisible(state["lens"])
    tabs = model_tabs_of(window)
    if tabs is not None and state["tab"] is not None:
        tabs.setCurrentIndex(state["tab"])
