"""The lab's main window: configuration on the left, run controls, live plots and the data view.

It owns at most one :class:`RunSession` (a worker process) at a time, appends each received batch
to the plot buffers and redraws from one ~33 ms timer when something changed. It never waits on
the worker: Stop sends a command, closing terminates the worker within about half a second.
Every run is recorded on disk as it streams (:mod:`odeprop.gui.run_session`); a window that
crashed leaves its records behind, and the next window offers to reopen them (a bar above the
plots, never a blocking dialog). A worker that dies leaves the window running with the run's data.

The window builds the widgets, the menus and the redraw timer, and previews the data before a
run; the rest is mixed in, one concern each: :class:`~odeprop.gui.live_run.LiveRun` (the run's
lifecycle and the worker's messages), :class:`~odeprop.gui.run_recovery.RunRecovery` (records a
crash left), :class:`~odeprop.gui.experiment_files.ExperimentFiles` (open, save, recent files,
presets) and :class:`~odeprop.gui.lab_exports.RunExports` (CSV and plot exports).
"""

from __future__ import annotations

import platform
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import Experiment
from odeprop.core.presets import default_experiment
from odeprop.core.run import Problem
from odeprop.core.worker import RunProcess

from .comparison_menus import add_comparison_actions, comparisons_menu
from .config_panel import ConfigPanel
from .data_view import DataView
from .document_window import DocumentWindow
from .experiment_files import ExperimentFiles
from .lab_exports import RunExports
from .lens import StiffnessLens
from .lens_marker import TimeMarker
from .live_run import LiveRun
from .network_view import NetworkPanel, model_tabs
from .plots import X_MODES, PlotPanel
from .recovery_bar import RecoveryBar
from .run_controls import RunControls
from .run_recovery import RunRecovery
from .run_session import RecordedRun, RunSession
from .sweep_results_window import add_sweep_results_action

PLOTS_PER_TICK = 4  # plots redrawn per timer tick (the rest wait for the next tick)
STATUS_SECONDS = 0.2  # the status line and progress bar change at most ~5 times a second


class MainWindow(LiveRun, RunRecovery, ExperimentFiles, RunExports, DocumentWindow):
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
        self._built: tuple[tuple, Problem] | None = None  # the last problem built, by its key
        self._previewed: Problem | None = None  # the problem the data view shows at θ0
        self.current_path: Path | None = None
        self.dirty = False
        self._status_at = 0.0
        self.state = "idle"
        if icon is not None:
            self.setWindowIcon(icon)

        self.config_panel = ConfigPanel()
        dock = QDockWidget("Experiment", self)
        dock.setObjectName("experiment_dock")
        dock.setWidget(self.config_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.controls = RunControls()
        self.data_view = DataView()
        self.network_view = NetworkPanel()  # a tab beside the data view, fed the same θ
        self.data_view.problem_changed.connect(self.network_view.set_problem)
        self.plots = PlotPanel(model_tabs(self.data_view, self.network_view))
        self.make_banner()
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
        layout.addWidget(self.plots, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel("Ready: press Start (F5).")
        # a new text never resizes anything: no relayout of the window while a run streams
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status_label, 1)
        self.lens = StiffnessLens()  # opened from View ▸ Stiffness lens; runs then measure spectra
        self.lens_dock = QDockWidget("Stiffness lens", self)
        self.lens_dock.setObjectName("stiffness_lens_dock")
        self.lens_dock.setWidget(self.lens)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lens_dock)
        self.lens_dock.hide()
        self.time_marker = TimeMarker([p.getPlotItem() for p in self.plots.plots.values()])
        self.lens.moment_selected.connect(self.time_marker.show_at)
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
        run_menu = bar.addMenu("&Run")
        for action in self.controls.actions_:
            run_menu.addAction(action)
        bar.addMenu(comparisons_menu(self))  # the teaching comparisons, each in its window
        view_menu = self._add_view_menu(bar, X_MODES)
        view_menu.addSeparator()
        lens_action = self.lens_dock.toggleViewAction()
        lens_action.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(lens_action)
        help_menu = bar.addMenu("&Help")
        self._menu_action(help_menu, "&About odeprop", None, self.show_about)
        self._update_recent_menu()

    # -- the experiment ----------------------------------------------------------------------
    def experiment(self) -> Experiment:
        return self.config_panel.experiment()

    def set_experiment(self, experiment: Experiment) -> None:
        if self.state in ("running", "paused", "starting"):
            self.stop()
        self.config_panel.set_experiment(experiment)
        self._preview_problem()

    def build_problem(self, exp: Experiment) -> Problem:
        """Data, network and θ0 of ``exp``; the last one built is reused while its dataset and
        network settings stay the same (784-D data take a quarter of a second to draw, on
        this thread). A CSV file is read again each time: it may have changed on disk."""
        key = (exp.dataset, exp.network)
        if exp.dataset.kind != "csv" and self._built is not None and self._built[0] == key:
            return self._built[1]
        problem = Problem.build(exp)
        self._built = (key, problem)
        return problem

    def _config_changed(self) -> None:
        errors = self.config_panel.errors
        self._show_blocker()
        if errors:
            self.config_panel.show_network_size(None, None)  # no network to count
        else:
            exp = self.config_panel.experiment()
            self.setWindowTitle(f"odeprop — {exp.name}")
            if self.state in ("idle", "ended"):
                self._preview_timer.start()

    def _show_blocker(self) -> None:
        """What keeps Start from running, beside the button: a bad field, or a method that
        cannot run a network this big."""
        blockers = self.config_panel.errors or [self.config_panel.size_error()]
        self.controls.set_blocker(blockers[0] or "")

    def _preview_problem(self) -> None:
        """Show the data (and the initial weights' view) before a run starts."""
        if self.state not in ("idle", "ended") or self.config_panel.errors:
            return
        exp = self.config_panel.experiment()
        try:
            problem = self.build_problem(exp)
        except ValueError as exc:
            self.show_banner(f"The data cannot be loaded: {exc}", "error")
            self.data_view.set_problem(None)
            self._previewed = None
            self.config_panel.show_network_size(None, None)
            self.config_panel.show_data_classes(exp.dataset, None)
            return
        self.config_panel.show_network_size(problem.net.sizes, problem.net.n_params,
                                            problem.T_train.size)
        self.config_panel.show_data_classes(exp.dataset, problem.dataset)
        self._show_blocker()
        if self.state == "idle":
            if problem is not self._previewed:  # the same data and θ0 need no new drawing
                self.problem = self._previewed = problem
                self.data_view.set_problem(problem)
            self.plots.set_task(problem.dataset.task)
            self.plots.set_experiment(exp)

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
        text = self.settings.value("last_experiment")
        if text:
            try:
                self.config_panel.set_experiment(Experiment.from_toml(str(text)))
            except ValueError:
                pass  # an old or broken remembered experiment: start from the default
        self.restore_window_state(X_MODES)

    def save_settings(self) -> None:
        self.remember_window_state()
        if not self.config_panel.errors:
            self.settings.setValue("last_experiment", self.experiment().to_toml())
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """End the worker (at most about half a second), remember the window, then close."""
        self.redraw_timer.stop()
        if self.session is not None:
            self.session.shutdown(0.5)
            self.session.dispose()  # a clean close: the record is not offered again
        if self.persist:
            self.save_settings()
        super().closeEvent(event)
