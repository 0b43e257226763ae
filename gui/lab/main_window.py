"""The lab's main window: configuration on the left, run controls, live plots and the data view.

It owns at most one :class:`RunSession` (a worker process) at a time, appends each received batch
to the plot buffers and redraws from one ~33 ms timer when something changed. It never waits on
the worker: Stop sends a command, closing terminates the worker within about half a second.
Every run is recorded on disk as it streams (:mod:`odeprop.gui.lab.run_session`); a window that
crashed leaves its records behind, and the next window offers to reopen them (a bar above the
plots, never a blocking dialog). A worker that dies leaves the window running with the run's data.

The window builds the widgets, the menus and the redraw timer, and previews the data before a run
(built off the GUI thread by :class:`~odeprop.gui.lab.problem_builds.ProblemBuilder`; whatever fails
there, out of memory included, is a message beside Start); it opens on the experiment it last
closed with, or on the default when that one cannot be built. The rest is mixed in, one concern
each: :class:`~odeprop.gui.lab.live_run.LiveRun` (the run's lifecycle and the worker's messages),
:class:`~odeprop.gui.lab.run_recovery.RunRecovery` (records a crash left),
:class:`~odeprop.gui.lab.experiment_files.ExperimentFiles` (open, save, recent files, presets) and
:class:`~odeprop.gui.lab.lab_exports.RunExports` (CSV and plot exports).
"""

from __future__ import annotations

import platform
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import Experiment
from odeprop.core.io import write_text_atomic
from odeprop.core.presets import default_experiment
from odeprop.core.recording import recovery_dir
from odeprop.core.run import Problem
from odeprop.core.worker import RunProcess

from ..classroom.network_view import NetworkPanel, model_tabs
from ..classroom.presenter import PresenterMode
from ..common.config_panel import ConfigPanel
from ..common.document_window import DocumentWindow
from ..common.marker import TimeMarker
from ..common.plots import X_MODES, PlotPanel
from ..common.run_controls import RunControls
from ..comparison.menus import add_comparison_actions, comparisons_menu
from ..lens.window import StiffnessLens
from ..sweeps.results_window import add_sweep_results_action
from .data_view import DataView
from .experiment_files import ExperimentFiles
from .lab_exports import RunExports
from .lab_replay import LabReplay
from .lessons import LessonActions
from .live_run import LiveRun
from .problem_builds import BUILD_WAIT, Built, ProblemBuilder, file_error
from .recovery_bar import RecoveryBar
from .run_recovery import RunRecovery
from .run_session import RecordedRun, RunSession

PLOTS_PER_TICK = 4  # plots redrawn per timer tick (the rest wait for the next tick)
STATUS_SECONDS = 0.2  # the status line and progress bar change at most ~5 times a second
#: Where a remembered experiment that could not be restored is kept (beside the run records).
UNRESTORED_FILE = "unrestored-experiment.toml"
READY = "Ready: press Start (F5)."


class MainWindow(LessonActions, LabReplay, LiveRun, RunRecovery, ExperimentFiles, RunExports,
                 DocumentWindow):
    """The lab window; ``settings`` defaults to the user's QSettings (tests pass their own)."""

    DOCUMENT = "experiment"

    run_ended = Signal(str, str)  # status, message (after the window has shown it)
    #: makes a run's worker; benchmarks substitute one that streams synthetic snapshots
    process_factory = RunProcess

    def __init__(self, settings: QSettings | None = None, restore: bool = True,
                 persist: bool = True, icon=None, offer_recovery: bool = True):
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self.persist = persist
        self.session: RunSession | RecordedRun | None = None
        self.error_dialog: QMessageBox | None = None  # the last error shown in a dialog
        self.problem: Problem | None = None
        self._previewed: Problem | None = None  # the problem the data view shows at θ0
        self.builder = ProblemBuilder(self)  # data and network, built off this thread
        self.builder.done.connect(self._on_built)
        self._preview_future: Future | None = None  # a preview's build still under way
        self._start_future: tuple[Future, bool] | None = None  # a Start waiting for its build
        #: why the form's experiment has no problem (its data, its network): blocks Start
        self.build_error: str | None = None
        self._build_banner: str | None = None  # the banner that says it
        #: the experiment remembered from last time (its text, and as the form holds it) while
        #: it is being restored: if it cannot be built, the default opens instead
        #: (:meth:`_restore_failed`)
        self._restoring: tuple[str, Experiment | None] | None = None
        self.current_path: Path | None = None
        self.dirty = False
        self._status_at = 0.0
        self.state = "idle"
        if icon is not None:
            self.setWindowIcon(icon)

        self.config_panel = ConfigPanel(schedule=True)
        self.controls = RunControls()
        self.data_view = DataView()
        self.network_view = NetworkPanel()  # a tab beside the data view, fed the same θ
        self.data_view.problem_changed.connect(self.network_view.set_problem)
        self.model_tabs = model_tabs(self.data_view, self.network_view)
        self.plots = PlotPanel(self.model_tabs)
        self.make_banner()
        # The run controls span the window above the experiment panel and the plots (not
        # beside the panel): the window is as wide as the wider of the two, not their sum, and
        # fits a 1280 px projector. The panel collapses: drag the splitter, or F9.
        self.side_panel = _titled("Experiment", self.config_panel)  # View ▸ Experiment panel
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.side_panel)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.controls)
        self.recovery_bar = RecoveryBar()
        self.recovery_bar.reopen_requested.connect(self.reopen_recording)
        self.recovery_bar.discard_requested.connect(self.discard_recording)
        layout.addWidget(self.recovery_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel(READY)
        # a new text never resizes anything: no relayout of the window while a run streams
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status_label, 1)
        self.lens = StiffnessLens()  # opened from View ▸ Stiffness lens; runs then measure spectra
        self.lens_dock = FloatingLens(self, self.lens)
        self.time_marker = TimeMarker([p.getPlotItem() for p in self.plots.plots.values()])
        self._build_replay()  # the pace box, the replay bar; the lens's moments
        self.lens.message.connect(self.status_label.setText)

        self.controls.start_requested.connect(self.start)
        self.controls.pause_requested.connect(self.pause)
        self.controls.resume_requested.connect(self.resume)
        self.controls.step_requested.connect(self.step)
        self.controls.stop_requested.connect(self.stop)
        self.controls.reset_requested.connect(self.reset)
        self.controls.x_mode_changed.connect(self.set_x_mode)
        self.config_panel.changed.connect(self._config_changed)

        self._start_timers(self._preview_problem)

        self._build_menus()
        self.resize(1400, 900)
        if restore:
            self._restore_settings()
        self._config_changed()
        self._preview_problem()
        if offer_recovery:
            self.check_recovery()

    # -- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._menu_action(file_menu, "&New (default experiment)", QKeySequence.StandardKey.New,
                          lambda: self.set_experiment(default_experiment()))
        self._menu_action(file_menu, "&Open experiment…", QKeySequence.StandardKey.Open,
                          self._open_dialog)
        self._add_open_menus(file_menu)  # Open recent, Open preset
        self._menu_action(file_menu, "&Save experiment", QKeySequence.StandardKey.Save,
                          self._save)
        self._menu_action(file_menu, "Save experiment &as…", QKeySequence.StandardKey.SaveAs,
                          self._save_dialog)
        file_menu.addSeparator()
        add_comparison_actions(self, file_menu)  # New comparison…, Open comparison…
        add_sweep_results_action(self, file_menu)  # Open sweep results… (odeprop sweep's --out)
        file_menu.addSeparator()
        self._add_export_actions(file_menu)  # Export run data (CSV)…, Export plot
        file_menu.addSeparator()
        self._menu_action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        self._add_lesson_menus(bar, file_menu)  # Save as lesson step…; Edit: copy, open, drops
        run_menu = bar.addMenu("&Run")
        for action in self.controls.actions_:
            run_menu.addAction(action)
        bar.addMenu(comparisons_menu(self))  # the teaching comparisons, each in its window
        view_menu = self._add_view_menu(bar, X_MODES)
        self._add_layout_actions(view_menu)  # the experiment panel, one plot large
        lens_action = self.lens_dock.toggleViewAction()
        lens_action.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(lens_action)
        self._menu_action(view_menu, "Data ⇄ &Network view", "N", lambda: self.model_tabs
                          .setCurrentIndex(1 - self.model_tabs.currentIndex()))
        self.presenter = PresenterMode(self, view_menu)  # F11
        help_menu = bar.addMenu("&Help")
        self._menu_action(help_menu, "&Lessons…", "F1", self.open_lessons)
        self._menu_action(help_menu, "&About odeprop", None, self.show_about)
        self._update_recent_menu()

    # -- the experiment ----------------------------------------------------------------------
    def experiment(self) -> Experiment:
        return self.config_panel.experiment()

    def set_experiment(self, experiment: Experiment) -> None:
        if self.state in ("running", "paused", "starting"):
            self.stop()
        self._restoring = None
        self.config_panel.set_experiment(experiment)
        self._preview_problem()

    def build_problem(self, exp: Experiment) -> tuple[Future, Built | None]:
        """Build ``exp``'s data, network and θ0 off this thread (:class:`ProblemBuilder`: the
        last problem is reused while its settings stay the same), waiting at most
        :data:`BUILD_WAIT`: the build, and what it gave if it was done by then."""
        future = self.builder.submit(exp)
        wait_for([future], BUILD_WAIT)
        return future, (future.result() if future.done() else None)

    def _on_built(self, future: Future) -> None:
        """A build the window did not wait for has ended: show it, or start its run."""
        if future is self._preview_future:
            self._preview_future = None
            self._show_built(future.result())
        elif self._start_future is not None and future is self._start_future[0]:
            start_paused = self._start_future[1]
            self._start_future = None
            self._start_built(future.result(), start_paused)

    def _config_changed(self) -> None:
        errors = self.config_panel.errors
        self.build_error = None  # of the experiment before the edit: its preview tells anew
        self._show_blocker()
        if errors:
            self.config_panel.show_network_size(None, None)  # no network to count
        else:
            exp = self.config_panel.experiment()
            self.setWindowTitle(f"odeprop — {exp.name}")
            if self.state in ("idle", "ended"):
                self._preview_timer.start()

    def _show_blocker(self) -> None:
        """What keeps Start from running, beside the button: a bad field, data that cannot be
        read or a network that cannot be built, or a method that cannot run a network this
        big."""
        blockers = self.config_panel.errors or [self.build_error
                                                or self.config_panel.size_error()]
        self.controls.set_blocker(blockers[0] or "")

    def _preview_problem(self) -> None:
        """Show the data (and the initial weights' view) before a run starts."""
        if self.state not in ("idle", "ended") or self.config_panel.errors:
            return
        future, built = self.build_problem(self.config_panel.experiment())
        self._preview_future = future if built is None else None
        if built is None:
            self.status_label.setText("Reading the data and building the network…")
        else:
            self._show_built(built)

    def _show_built(self, built: Built) -> None:
        """Show a built problem (the data at θ0, the network's size), or why there is none."""
        if self.state not in ("idle", "ended"):
            return
        exp, problem = built.experiment, built.problem
        if problem is None:
            if self._restoring is not None and built.experiment == self._restoring[1]:
                self._restore_failed(built.error)
                return
            self.build_error = built.error
            self.show_banner(_sentence(built.error), "error")
            self._build_banner = self.banner.text()
            self.status_label.setText(f"Not ready: {built.error}")
            self._draw_problem(None)
            self._previewed = None
            self.config_panel.show_network_size(None, None)
            self.config_panel.show_data_classes(exp.dataset, built.dataset)
            if exp.dataset.kind == "csv" and not built.data_loaded:  # beside the file's field
                self.config_panel.show_csv_error(file_error(built.error))
            self._show_blocker()
            return
        self._restoring = None
        if self.build_error is not None or self.status_label.text().startswith(
                ("Not ready", "Reading the data")):
            self.status_label.setText(READY)
        if self._build_banner is not None and self.banner.text() == self._build_banner:
            self.hide_banner()  # the error of an earlier edit
        self._build_banner = None
        self.build_error = None
        self.config_panel.show_network_size(problem.net.sizes, problem.net.n_params,
                                            problem.T_train.size)
        self.config_panel.show_data_classes(exp.dataset, problem.dataset)
        if exp.dataset.kind == "csv":
            self.config_panel.show_csv_error(None)  # read whole: whatever was said is past
        self._show_blocker()
        if self.state == "idle":
            if problem is not self._previewed:  # the same data and θ0 need no new drawing
                self.problem = self._previewed = problem
                self._draw_problem(problem)
            self.plots.set_task(problem.dataset.task)
            self.plots.set_experiment(exp)

    def _draw_problem(self, problem: Problem | None) -> bool:
        """The data view shows ``problem`` at θ0 (None: nothing); False, and a message, when
        it cannot be drawn (out of memory)."""
        try:
            self.data_view.set_problem(problem)
            return True
        except Exception as exc:  # MemoryError above all: the window lives on without it
            why = "out of memory" if isinstance(exc, MemoryError) else type(exc).__name__
            self.show_banner(f"The data view cannot draw these data ({why}).", "error")
            self.data_view.set_problem(None)
            self._previewed = None
            return False

    # -- drawing -----------------------------------------------------------------------------
    def _redraw(self) -> None:
        now = self._tick()
        if self.data_view.refresh() or self.network_view.refresh():
            return  # a model view was this tick's drawing; the plots wait for the next one
        self.plots.refresh_some(PLOTS_PER_TICK)
        if self.dirty and now - self._status_at >= STATUS_SECONDS:
            self.dirty = False
            self._status_at = now
            self._update_status()

    def set_x_mode(self, mode: str) -> None:
        super().set_x_mode(mode)
        self.time_marker.set_x_mode(mode)

    # -- about, settings, closing ------------------------------------------------------------
    def about_text(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        import numpy
        import pyqtgraph
        import PySide6
        import scipy
        from PySide6.QtCore import qVersion

        try:
            ours = version("odeprop")
        except PackageNotFoundError:
            ours = "development"
        return (f"<h3>odeprop {ours}</h3><p>Train a neural network by integrating its "
                "gradient-flow ODE dθ/dt = −∇L(θ) with real ODE solvers, and watch it.</p>"
                f"<p>Qt {qVersion()} (PySide6 {PySide6.__version__})<br>"
                f"pyqtgraph {pyqtgraph.__version__}<br>numpy {numpy.__version__}<br>"
                f"scipy {scipy.__version__}<br>Python {platform.python_version()}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About odeprop", self.about_text())

    def _restore_settings(self) -> None:
        """The window as it was, and the experiment open when it last closed. That experiment
        never keeps the window from opening: if it cannot be read, shown or built (an old or
        broken one, a CSV file gone, too large for memory), the default opens instead."""
        text = self.settings.value("last_experiment")
        if text:
            self._restoring = (str(text), None)
            try:
                self.config_panel.set_experiment(Experiment.from_toml(str(text)))
            except Exception as exc:  # ValueError, RecursionError, MemoryError: anything
                self._restore_failed(str(exc) if isinstance(exc, ValueError)
                                     else type(exc).__name__)
            else:
                if self.config_panel.errors:
                    self._restore_failed(self.config_panel.errors[0])
                else:
                    self._restoring = (str(text), self.config_panel.experiment())
        self.restore_window_state(X_MODES)

    def _restore_failed(self, why: str) -> None:
        """Open the default experiment instead of the remembered one, say why, and keep the
        remembered one in a file the user can open (never silently lost)."""
        text, self._restoring = self._restoring[0] if self._restoring else "", None
        self.settings.setValue("unrestored_experiment", text)
        kept = recovery_dir().parent / UNRESTORED_FILE
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(kept, text)
            where = f" It is kept in {kept}: File ▸ Open experiment… opens it."
        except OSError:
            where = ""
        self.config_panel.set_experiment(default_experiment())
        self._preview_problem()
        self.show_banner("The experiment open when odeprop last closed could not be restored "
                         f"({why}); the default experiment is open instead.{where}", "warning")

    def save_settings(self) -> None:
        self.remember_window_state()
        if not self.config_panel.errors:
            self.settings.setValue("last_experiment", self.experiment().to_toml())
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """End the worker (at most about half a second), remember the window, then close."""
        self.leave_lesson()  # the user's own experiment is the one remembered
        self.redraw_timer.stop()
        self._preview_timer.stop()
        self._preview_future = self._start_future = None  # a build that ends later is dropped
        self.builder.shutdown()
        if self.session is not None:
            self.session.shutdown(0.5)
            self.session.dispose()  # a clean close: the record is not offered again
        if self.persist:
            self.save_settings()
        self.lens_dock.hide()  # a window of its own: it goes with the lab, while the plots live
        super().closeEvent(event)


class FloatingLens(QDockWidget):
    """The stiffness lens in a window of its own above the lab (hidden until asked for).

    Floating, never docked: docked beside the plots it made the lab 1,689 px wide at least,
    wider than a projector. Floating, it keeps the plots their whole width, moves where the
    class does not need to see (or to a second screen), and its slider still moves the time
    marker in the plots behind it. No dock area takes it back."""

    def __init__(self, window: QMainWindow, lens: QWidget):
        super().__init__("Stiffness lens", window)
        self.setObjectName("stiffness_lens_dock")
        self.setWidget(lens)
        self.setAllowedAreas(Qt.DockWidgetArea.NoDockWidgetArea)
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.setFloating(True)
        self.resize(460, 640)
        self.hide()
        self.visibilityChanged.connect(self._float_again)

    def _float_again(self, shown: bool) -> None:
        """A lens that a remembered window state docked floats again, over the window's
        right side."""
        if shown and not self.isFloating():
            self.setFloating(True)
            frame = self.parentWidget().frameGeometry()
            self.move(max(frame.left(), frame.right() - self.width() - 24), frame.top() + 80)


def _titled(title: str, widget: QWidget) -> QWidget:
    """``widget`` under a bold one-line title (what the panel's dock title said)."""
    box = QWidget()
    box.setObjectName("experiment_panel")
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    label = QLabel(f"<b>{title}</b>")
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    return box


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
